# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""A directory object as read: its DN and its attribute values as the DC sent them. Pure, no I/O.

Every read of the collection returns :class:`Entry` objects (one read style): the values are the
bytes on the wire, decoded by the accessor the caller picks (text, integer, SID), so no attribute
depends on a library's formatting guesses.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field

from ansible_collections.webfarm.winauth.plugins.module_utils._windows.sid import sid_text


def _decode(value: bytes) -> str:
    return value.decode("utf-8", "replace")


@dataclass(frozen=True)
class Entry:
    """One object: ``dn`` and ``raw`` (lower-cased attribute name -> list of values, bytes)."""

    dn: str
    raw: dict[str, list[bytes]] = field(default_factory=dict)

    @classmethod
    def of(cls, dn: str, attributes: t.Mapping[str, t.Iterable[t.Any]]) -> "Entry":
        """An entry from any mapping of attribute values (bytes, or text encoded as UTF-8)."""
        raw = {}
        for name, values in attributes.items():
            items = values if isinstance(values, (list, tuple)) else [values]
            raw[name.lower()] = [v if isinstance(v, bytes) else str(v).encode("utf-8") for v in items]
        return cls(dn, raw)

    def has(self, name: str) -> bool:
        return bool(self.raw.get(name.lower()))

    def values(self, name: str) -> list[bytes]:
        return list(self.raw.get(name.lower(), []))

    def first(self, name: str) -> bytes | None:
        values = self.raw.get(name.lower())
        return values[0] if values else None

    def texts(self, name: str) -> list[str]:
        return [_decode(v) for v in self.raw.get(name.lower(), [])]

    def text(self, name: str) -> str | None:
        value = self.first(name)
        return None if value is None else _decode(value)

    def integer(self, name: str) -> int | None:
        text = (self.text(name) or "").strip()
        return int(text) if text.lstrip("-").isdigit() else None

    def sid(self, name: str = "objectSid") -> str | None:
        return sid_text(self.first(name))

    def sids(self, name: str) -> list[str]:
        return [s for s in (sid_text(v) for v in self.values(name)) if s]

    @property
    def object_classes(self) -> list[str]:
        return self.texts("objectClass")

    @property
    def most_specific_class(self) -> str:
        classes = self.object_classes
        return classes[-1] if classes else "unknown"
