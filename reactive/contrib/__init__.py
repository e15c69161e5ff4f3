"""Optional helpers that are not part of the runtime (development conveniences)."""
