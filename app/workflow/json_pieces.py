"""JSON text written in pieces, with parts encoded once beforehand (the autosave of a long clip).

A long clip's saved state is megabytes, nearly all of it the contours of every frame, which do not change
between two saves. `Lazy(make)` stands for a value whose compact JSON text `make()` gives when the document is
written (a contour's text, made once and kept by the contour; so a document made on the GUI thread is encoded by
the thread that writes it); `EncodedList(items)` for a list of such values (or of plain values).
`json_pieces(value)` yields compact JSON text (what json.dumps(value, separators=(",", ":")) gives, with the
encoded parts spliced in) in pieces: no one call of the encoder holds the interpreter for the whole document,
so other threads run between two pieces. `plain(value)` is the same value as plain JSON types.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

compact = json.JSONEncoder(separators=(",", ":")).encode  # one plain value: the C encoder


@dataclass(frozen=True)
class Lazy:
    """A value encoded as compact JSON by make() when it is written (e.g. a contour's cached text)."""

    make: Callable[[], str]


@dataclass(frozen=True)
class EncodedList:
    """A JSON list whose items are Lazy texts or plain values."""

    items: tuple[Any, ...]


def json_pieces(value: Any) -> Iterator[str]:
    """Compact JSON text of `value` (plain JSON types, Lazy, EncodedList, dicts and lists holding them) in
    pieces: each top-level value and each item of a list on its own."""
    if isinstance(value, Lazy):
        yield value.make()
    elif isinstance(value, EncodedList | list | tuple):
        items = value.items if isinstance(value, EncodedList) else value
        yield "["
        for i, item in enumerate(items):
            if i:
                yield ","
            yield from (json_pieces(item) if _holds_encoded(item) else (compact(item),))
        yield "]"
    elif isinstance(value, dict):
        yield "{"
        for i, (key, item) in enumerate(value.items()):
            yield ("," if i else "") + compact(str(key)) + ":"
            yield from (json_pieces(item) if _holds_encoded(item) or isinstance(item, list) else (compact(item),))
        yield "}"
    else:
        yield compact(value)


def _holds_encoded(value: Any) -> bool:
    if isinstance(value, Lazy | EncodedList):
        return True
    if isinstance(value, dict):
        return any(_holds_encoded(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(isinstance(v, Lazy | EncodedList | dict) and _holds_encoded(v) for v in value)
    return False


def plain(value: Any) -> Any:
    """`value` as plain JSON types (dicts, lists, str, numbers, bools, None): through its text."""
    return json.loads("".join(json_pieces(value)))
