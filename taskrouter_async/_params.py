"""What every params class shares: a short repr, and conversion from and to the API's field names.

The params classes themselves are generated (``resources/``): every field is optional and
defaults to ``None``, which means "leave it out of the request"; values are checked when the
object is built, so bad params never reach the network. Wire names are the PascalCase forms
of the field names (``from_`` is ``From``); see ``_converter``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import attrs

__all__ = ["Params", "arguments"]

P = TypeVar("P", bound="Params")


@attrs.frozen(kw_only=True, repr=False)
class Params:
    """The base of every create and update params class."""

    def __repr__(self) -> str:
        """Only the fields that are set (and never a secret one): fifty ``None``s hide the point."""
        shown = (
            f"{field.name}={value!r}"
            for field in attrs.fields(type(self))
            if field.repr and (value := getattr(self, field.name)) is not None
        )
        return f"{type(self).__name__}({', '.join(shown)})"

    @classmethod
    def from_api_dict(cls: type[P], data: Mapping[str, object]) -> P:
        """Params from fields named as the API names them: ``{"ReservationStatus": "accepted", "Timeout": 30}``.

        Values are the API's form text (``"true"``, ``"30"``) or JSON values (``true``, ``30``), a list
        for list fields; ``None`` leaves a field unset. Raises ValidationError naming the field by its
        API name, and suggests the closest name for an unknown one.
        """
        from ._converter import params_from_api_dict  # the converter imports this module

        return params_from_api_dict(data, cls)

    def to_api_dict(self) -> dict[str, str | list[str]]:
        """The set fields by API name, as form text (``{"ReservationStatus": "accepted"}``); the inverse of
        ``from_api_dict``, and exactly what ``create`` or ``update`` sends."""
        from ._converter import form_fields

        return form_fields(self)


def arguments(scope: dict[str, Any]) -> dict[str, Any]:
    """A helper classmethod's keyword arguments, from its ``locals()``: its signature is the only field list."""
    return {name: value for name, value in scope.items() if name != "cls"}
