"""The curated public API: `__all__` is exactly what resolves, and importing needs no setup."""

from __future__ import annotations

import subprocess
import sys

import reactive


def test_all_is_sorted_and_resolves():
    assert reactive.__all__ == sorted(reactive.__all__)
    for name in reactive.__all__:
        assert getattr(reactive, name) is not None


def test_import_without_django_setup():
    code = ("import reactive; from reactive import query, mutation, v, api, ConvexError, Int64;"
            "print(api.chat.send.path)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={"PATH": ""}, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "chat:send"


def test_the_distribution_has_its_own_name_and_provides_reactive() -> None:
    """`pip install reactive` installs an unrelated project: ours is django-reactive-backend."""
    from importlib import metadata

    dist = metadata.distribution("django-reactive-backend")
    assert dist.metadata["Name"] == "django-reactive-backend"
    top = (dist.read_text("top_level.txt") or "").split()
    files = [str(f) for f in (dist.files or [])]
    assert "reactive" in top or any(f.startswith("reactive") or "reactive" in f for f in files)
