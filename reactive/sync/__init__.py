"""The sync engine: Convex's WebSocket protocol, change capture readback, live subscriptions."""
