// The deployment's URL, as Vite gives it to a Convex app (.env.local: VITE_CONVEX_URL=...).
interface ImportMeta {
  readonly env: { readonly VITE_CONVEX_URL: string };
}
