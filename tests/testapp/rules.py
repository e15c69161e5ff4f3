"""The test project's row-level rules (discovered at start-up like admin.py). Every other table
keeps the default policy, allow, so the rest of the suite is unaffected."""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from reactive.rules import rules


def me(ctx: Any) -> str | None:
    identity = ctx.auth.get_user_identity()
    return identity.subject if identity else None


def is_admin(ctx: Any) -> bool:
    identity = ctx.auth.get_user_identity()
    return bool(identity and identity.claims.get("role") == "admin")


def _posts_visible(ctx: Any) -> Q | bool:
    if is_admin(ctx):
        return True
    subject = me(ctx)
    if subject is None:
        return Q(public=True)
    return Q(public=True) | Q(owner=subject) | Q(team__members__user=subject)


def _post_change(ctx: Any, old: dict[str, Any], new: dict[str, Any] | None) -> bool:
    # the new value is checked too: a post cannot be given away, nor titled "forbidden"
    if old["owner"] != me(ctx):
        return False
    return new is None or (new["owner"] == me(ctx) and new["title"] != "forbidden")


rules.table(
    "posts",
    read_filter=_posts_visible,
    insert=lambda ctx, doc: doc.get("owner") == me(ctx) and me(ctx) is not None,
    modify=_post_change,
    hide=lambda ctx: () if is_admin(ctx) else ("salary",),
)


def _diary_readable(ctx: Any, doc: dict[str, Any]) -> bool:
    return bool(doc["shared"]) or doc["owner"] == me(ctx)


rules.table(
    "diaries",
    read=_diary_readable,
    insert=lambda ctx, doc: doc.get("owner") == me(ctx),
    modify=lambda ctx, old, new: old["owner"] == me(ctx) and new is not None,
    delete=lambda ctx, doc: doc["owner"] == me(ctx),
)


def _team_readable(ctx: Any, doc: dict[str, Any]) -> bool:
    if doc["name"] == "boom":
        raise ValueError("secret detail of the failing rule")
    if doc["name"] == "none":
        return None  # type: ignore[return-value]  (a rule that forgets to return)
    return True


def _team_insert(ctx: Any, doc: dict[str, Any]) -> bool:
    if doc.get("name") == "boom-insert":
        raise KeyError("secret detail of the failing insert rule")
    return True


rules.table("teams", read=_team_readable, insert=_team_insert)


def _memos_visible(ctx: Any) -> Q:
    subject = me(ctx)
    return Q(public=True) if subject is None else Q(public=True) | Q(owner=subject)


# the caller "nosy" may not see `body`: a search over it would reveal it
rules.table(
    "memos",
    read_filter=_memos_visible,
    hide=lambda ctx: ("body",) if me(ctx) == "nosy" else (),
)


def _movies_visible(ctx: Any) -> Q | bool:
    subject = me(ctx)
    return Q(draft=False) if subject is None else Q(draft=False) | Q(owner=subject)


rules.table(
    "movies",
    read_filter=_movies_visible,
    hide=lambda ctx: ("owner",) if me(ctx) is None else (),
)
