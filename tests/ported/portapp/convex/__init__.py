"""The port of convex_src/convex/, one module per .ts file (REACTIVE["FUNCTIONS_ROOT"] names this
package): messages.py's `list_` is "messages:list", as convex/messages.ts's `list` was."""
