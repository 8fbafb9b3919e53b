"""A griffe extension for the API reference: a class's private bases (``_Model``, ``_BothKinds[...]``) are
left out of its "Bases:" line, since users can neither import nor use them; public bases stay."""

from __future__ import annotations

from typing import Any

import griffe


class PublicBases(griffe.Extension):
    """Drops each base whose name (before any ``[...]``) starts with an underscore."""

    def on_class_members(self, *, cls: griffe.Class, **kwargs: Any) -> None:
        cls.bases = [base for base in cls.bases if not _name(base).startswith("_")]


def _name(base: str | griffe.Expr) -> str:
    return str(base).split("[", 1)[0].rsplit(".", 1)[-1]
