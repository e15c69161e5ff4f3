from __future__ import annotations


def test_asgi_server_answers(asgi_server):
    r = asgi_server.post("/api/query", {"path": "testapp:ping", "args": [{}],
                                        "format": "convex_encoded_json"})
    assert r.status_code == 200
    assert r.json() == {"status": "success", "value": "pong", "logLines": []}
