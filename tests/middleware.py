"""A test middleware: marks the requests and responses of HTTP actions (under /hooks/), so a
test can see that Django middleware runs around them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from asgiref.sync import iscoroutinefunction
from django.utils.decorators import sync_and_async_middleware


@sync_and_async_middleware
def mark_http_actions(get_response: Callable[..., Any]) -> Callable[..., Any]:
    def before(request: Any) -> None:
        request.test_middleware = request.path.startswith("/hooks/")

    def after(request: Any, response: Any) -> Any:
        if request.test_middleware:
            response["X-Test-Middleware"] = "seen"
        return response

    if iscoroutinefunction(get_response):

        async def middleware_async(request: Any) -> Any:
            before(request)
            return after(request, await get_response(request))

        return middleware_async

    def middleware(request: Any) -> Any:
        before(request)
        return after(request, get_response(request))

    return middleware
