"""The sync engine: Convex's WebSocket protocol, ticks and live subscriptions."""
