"""The admin's function browser: every registered function with its kind, visibility and
validators (as JSON Schema), and a form that runs one through the executor as a chosen user.

Like the "Tables" page it hangs off a model without a table, `FunctionOverview`: staff with
``reactive.view_functionoverview`` see the public functions, with ``reactive.run_function`` they
may run them; internal functions and HTTP actions are shown to superusers only, and HTTP actions
are never run from here (they answer a request, which the form cannot give them).
"""

from __future__ import annotations

import json
import logging
import time
import traceback
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import path, reverse

from ..auth import identity_from_user
from ..conf import reactive_settings
from ..errors import InternalError
from ..functions.executor import execute
from ..functions.outcome import error_data, error_message
from ..functions.registry import AnyFunction, registry
from ..models import FunctionOverview
from ..values import MAX_DEPTH, ValueEncodingError, decode, encode
from .base import ReadOnlyAdmin

logger = logging.getLogger("reactive.admin")


@dataclass
class FunctionRow:
    path: str
    kind: str
    visibility: str  # "public", "internal" or "HTTP action"
    args: str  # JSON Schema, or "any"
    returns: str
    url: str


def visibility(fn: AnyFunction) -> str:
    return "HTTP action" if fn.http else fn.visibility


def schema_text(part: Any) -> str:
    """A compiled validator's JSON Schema, indented; "any" where nothing is checked."""
    if part.schema is None or getattr(part, "accepts_any", False):
        return "any"
    try:
        return json.dumps(part.schema(), indent=2)
    except Exception as exc:  # a pydantic type with no JSON Schema
        return f"(no JSON Schema: {exc})"


def _shown(user: Any, fn: AnyFunction) -> bool:
    return bool(user.is_superuser) or not (fn.internal or fn.http)


def _row(fn: AnyFunction) -> FunctionRow:
    name = fn.path or ""
    return FunctionRow(
        path=name,
        kind=fn.kind.value,
        visibility=visibility(fn),
        args="request" if fn.http else schema_text(fn.args),
        returns="response" if fn.http else schema_text(fn.returns),
        url=reverse("admin:reactive_functionoverview_function", args=[name]),
    )


class RunForm(forms.Form):
    username = forms.CharField(
        required=False, help_text="Run as this user (their identity in ctx.auth); blank: anonymous."
    )
    args = forms.CharField(
        required=False,
        initial="{}",
        widget=forms.Textarea(attrs={"rows": 6, "cols": 80, "class": "vLargeTextField"}),
        help_text='The arguments object, as a client sends it (Convex JSON: {"$integer": ...} '
        "for an int64, ids as strings).",
    )

    def __init__(self, runner: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.runner = runner  # the admin user submitting the form

    def clean_username(self) -> Any:
        name = self.cleaned_data["username"].strip()
        if not name:
            return None
        model = get_user_model()
        user = model._default_manager.filter(**{model.USERNAME_FIELD: name}).first()
        if user is None:
            raise ValidationError(f"There is no user {name!r}.")
        if self.runner.is_superuser or user.pk == self.runner.pk:
            return user
        # as django-hijack does by default: a function that looks the user up would hand the
        # runner that user's powers, so staff run as users who are not staff (nor superusers)
        if getattr(user, "is_superuser", False) or getattr(user, "is_staff", False):
            role = "a superuser" if getattr(user, "is_superuser", False) else "a staff user"
            raise ValidationError(f"Only a superuser may run functions as {name!r}, {role}.")
        return user

    def clean_args(self) -> Any:
        text = self.cleaned_data["args"].strip() or "{}"
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValidationError(
                f"Not JSON: line {exc.lineno}, column {exc.colno}: {exc.msg}."
            ) from None
        except RecursionError:  # the parser's own limit, far past Convex's 64 levels
            raise ValidationError(
                f"The arguments are nested too deeply (at most {MAX_DEPTH} levels)."
            ) from None
        if not isinstance(raw, dict):
            raise ValidationError(f"The arguments must be an object, not {type(raw).__name__}.")
        try:
            return decode(raw, path="args")
        except ValueEncodingError as exc:
            raise ValidationError(f"Not a Convex value: {exc}") from None


def run(fn: AnyFunction, user: Any, args: Any) -> dict[str, Any]:
    """Run ``fn`` through the executor as ``user`` (None: anonymous); what the page shows."""
    identity = identity_from_user(user, reactive_settings.SESSION_ISSUER)
    started = time.perf_counter()
    outcome = execute(fn.path or "", args, identity=identity, from_client=not fn.internal)
    shown: dict[str, Any] = {
        "ok": outcome.ok,
        "ms": (time.perf_counter() - started) * 1000.0,
        "attempts": outcome.attempts,
        "logs": outcome.log_lines,
    }
    if outcome.error is None:
        shown["value"] = json.dumps(outcome.encoded, indent=2)
        plain = json.dumps(encode(outcome.value, clean=True), indent=2)
        # Int64 and bytes are unreadable in Convex JSON ({"$integer": base64}): shown plainly too
        shown["plain"] = plain if plain != shown["value"] else None
    else:
        shown["error"] = error_message(outcome.error)
        cause = outcome.error.__cause__
        if isinstance(outcome.error, InternalError) and cause is not None:
            # clients see "Server Error" (DEBUG off); whoever may run functions here sees why
            shown["error"] = (
                f"Uncaught {type(cause).__name__} in {fn.path}: {cause}\n"
                + "".join(traceback.format_exception(cause)).rstrip()
            )
        data = error_data(outcome.error).get("errorData")
        shown["error_data"] = None if data is None else json.dumps(data, indent=2)
    return shown


@admin.register(FunctionOverview)
class FunctionOverviewAdmin(ReadOnlyAdmin):
    """The list of functions, and one page per function with its run form."""

    def get_urls(self) -> list[Any]:
        listing = self.admin_site.admin_view(self.changelist_view)
        detail = self.admin_site.admin_view(self.function_view)
        return [
            path("", listing, name="reactive_functionoverview_changelist"),
            path("<path:name>/", detail, name="reactive_functionoverview_function"),
        ]

    def changelist_view(self, request: Any, extra_context: dict[str, Any] | None = None) -> Any:
        if not self.has_view_permission(request):
            raise PermissionDenied
        search = request.GET.get("q", "").strip()
        rows = [
            _row(fn)
            for fn in registry
            if _shown(request.user, fn) and (not search or search in (fn.path or ""))
        ]
        context = {
            **self.admin_site.each_context(request),
            "title": "Functions",
            "opts": self.opts,
            "functions": rows,
            "search": search,
            "superuser": request.user.is_superuser,
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/reactive/functions.html", context)

    def function_view(self, request: Any, name: str) -> Any:
        if not self.has_view_permission(request):
            raise PermissionDenied
        fn = registry.get(name)
        if fn is None or fn.inline:
            raise Http404(f"No function {name!r} is registered")
        if not _shown(request.user, fn):
            raise PermissionDenied
        runnable = not fn.http and request.user.has_perm("reactive.run_function")
        form = RunForm(request.user, request.POST if request.method == "POST" else None)
        result = None
        if request.method == "POST":
            if not runnable:
                raise PermissionDenied
            if form.is_valid():
                user, args = form.cleaned_data["username"], form.cleaned_data["args"]
                logger.info("admin: %s ran %s as %s", request.user, fn.path, user or "anonymous")
                result = run(fn, user, args)
        context = {
            **self.admin_site.each_context(request),
            "title": fn.path,
            "opts": self.opts,
            "fn": _row(fn),
            "runnable": runnable,
            "form": form,
            "result": result,
        }
        return TemplateResponse(request, "admin/reactive/function.html", context)
