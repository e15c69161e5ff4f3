"""The `_storage` rows and the used upload tokens, in the database (the ORM, no bytes).

`insert` records a stored file, claiming its upload URL's nonce in the same transaction: of two
uploads with one URL, the second waits on the first's primary key and fails once it commits, so
exactly one row is inserted. `remove` deletes a row in the caller's transaction and removes the
bytes only once that transaction commits.
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction

from .. import ids
from ..clock import now_ms
from ..errors import RequestError
from . import files
from .files_table import TABLE


def _models() -> tuple[Any, Any]:
    # deferred: reactive's models need the app registry, not ready when this is imported
    from ..models import StoredFile, UploadToken

    return StoredFile, UploadToken


def storage_pk(storage_id: Any) -> Any | None:
    """The row's primary key if ``storage_id`` is an id of ``_storage``, else None."""
    return ids.pk_of(TABLE, storage_id)


def token_used(nonce: str, using: str = "default") -> bool:
    return bool(_models()[1].objects.using(using).filter(pk=nonce).exists())


#: The most characters of a content type kept (the column's size).
MAX_CONTENT_TYPE = 255


def content_type_problem(content_type: str | None) -> str | None:
    """Why ``content_type`` cannot be a file's ``Content-Type``, or None: too long for its
    column, or holding a control character (no header could carry it back)."""
    if content_type is None:
        return None
    if len(content_type) > MAX_CONTENT_TYPE:
        return f"it is over {MAX_CONTENT_TYPE} characters ({len(content_type)})"
    if any(ord(c) < 32 or ord(c) == 127 for c in content_type):
        return "it holds a control character (a line break, a tab, ...)"
    return None


def insert(
    written: files.Written,
    content_type: str | None,
    token: tuple[str, float] | None = None,
    using: str = "default",
) -> str:
    """Record ``written`` (claiming ``token``'s nonce, if given) and return its storage id.

    If the row cannot be inserted (the URL was used meanwhile, the database failed) the bytes
    are deleted before the error is raised: no file is left without a row."""
    StoredFile, UploadToken = _models()
    try:
        with transaction.atomic(using=using):
            if token is not None:
                UploadToken.objects.using(using).create(nonce=token[0], expires=token[1])
            row = StoredFile.objects.using(using).create(
                sha256=written.sha256,
                size=written.size,
                content_type=content_type or None,
                name=written.name,
            )
    except IntegrityError:
        files.discard(written.name)
        raise RequestError(
            "UploadUrlUsed", "The upload URL was already used: generate a new one", 409
        ) from None
    except BaseException:
        files.discard(written.name)
        raise
    return ids.encode_id(TABLE, row.pk)


def prune_tokens(using: str = "default") -> None:
    """Forget used tokens past their expiry (their signature refuses them already)."""
    _models()[1].objects.using(using).filter(expires__lt=now_ms()).delete()


def find(storage_id: Any, using: str = "default") -> Any | None:
    """The `StoredFile` of ``storage_id``, or None (not an id of ``_storage``, or no such row)."""
    pk = storage_pk(storage_id)
    if pk is None:
        return None
    return _models()[0].objects.using(using).filter(pk=pk).first()


def remove(storage_id: Any, using: str = "default") -> bool:
    """Delete the row in the current transaction (or at once, outside one); its bytes go when
    the deletion commits, so a transaction that rolls back deletes nothing. False: no such row."""
    pk = storage_pk(storage_id)
    if pk is None:
        return False
    StoredFile = _models()[0]
    with transaction.atomic(using=using):  # a savepoint in a mutation, a transaction elsewhere
        row = StoredFile.objects.using(using).select_for_update().filter(pk=pk).first()
        if row is None:
            return False
        StoredFile.objects.using(using).filter(pk=pk).delete()
        name = row.name
        transaction.on_commit(lambda: files.discard(name), using=using)
    return True
