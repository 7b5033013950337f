# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""The model of the IIS configuration schema: attributes, elements, collections and sections.

The table itself is in ``sections``, the value rules in ``values``. The same model serves the
controller (normalising desired values, showing schema defaults in diffs) and the lab's simulated
configuration engine. No I/O here.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

from ansible_collections.webfarm.winauth.plugins.module_utils._windows.errors import InvalidInput

AUTH = "system.webServer/security/authentication/"
WINDOWS_AUTHENTICATION = AUTH + "windowsAuthentication"
ANONYMOUS_AUTHENTICATION = AUTH + "anonymousAuthentication"
APPLICATION_POOLS = "system.applicationHost/applicationPools"
SITES = "system.applicationHost/sites"
WEB_FARMS = "webFarms"
GLOBAL_RULES = "system.webServer/rewrite/globalRules"
PROXY = "system.webServer/proxy"

TYPES = frozenset(("bool", "uint", "int", "int64", "string", "enum", "flags", "timeSpan"))
UINT_MAX = 4294967295


class SchemaValueError(InvalidInput):
    """A value that the schema does not accept (the message names the attribute and the rule)."""


@dataclass(frozen=True)
class Attr:
    """One attribute of the schema (``<attribute>``)."""

    name: str
    type: str
    default: t.Any = None            # schema defaultValue, in JSON form; None: no defaultValue
    key: bool = False                # isUniqueKey or isCombinedKey
    combined: bool = False           # isCombinedKey: part of a key made of several attributes
    required: bool = False
    encrypted: bool = False          # a secret: never returned by read, compared on the host
    case_sensitive: bool = False
    values: tuple[tuple[str, int], ...] = ()    # enum or flags names and numbers
    range: tuple[int, int] | None = None        # validationType integerRange (inclusive)
    exclude: bool = False                       # integerRange ",exclude": the range is forbidden
    seconds: tuple[int, int] | None = None      # validationType timeSpanRange, in seconds
    validation: str = ""                        # other validationType (nonEmptyString, siteName, ...)

    @property
    def zero(self) -> t.Any:
        """The value IIS reports when an attribute is not set and the schema gives no default."""
        if self.default is not None:
            return self.default
        if self.type == "bool":
            return False
        if self.type in ("uint", "int", "int64"):
            return 0
        if self.type == "timeSpan":
            return "00:00:00"
        if self.type in ("enum", "flags") and self.values:
            for name, number in self.values:
                if number == 0:
                    return name
            return self.values[0][0] if self.type == "enum" else ""
        return ""


@dataclass(frozen=True)
class Collection:
    """The collection an element holds (``<collection addElement=...>``)."""

    item: "Element"
    remove: str = ""
    clear: str = ""
    default_element: str = ""   # the *Defaults element whose values unset item attributes take

    @property
    def add(self) -> str:
        return self.item.name

    @property
    def keys(self) -> tuple[Attr, ...]:
        return tuple(a for a in self.item.attrs if a.key)

    @property
    def unique_keys(self) -> tuple[Attr, ...]:
        """Attributes that each identify an item on their own (a site's name, and its id)."""
        return tuple(a for a in self.item.attrs if a.key and not a.combined)


@dataclass(frozen=True)
class Element:
    """An element of the schema: its attributes, child elements and (at most one) collection."""

    name: str
    attrs: tuple[Attr, ...] = ()
    children: tuple["Element", ...] = ()
    collection: Collection | None = None

    def attr(self, name: str) -> Attr | None:
        for attr in self.attrs:
            if attr.name.lower() == name.lower():
                return attr
        return None

    def child(self, name: str) -> "Element | None":
        for child in self.children:
            if child.name.lower() == name.lower():
                return child
        return None


@dataclass(frozen=True)
class Section:
    """A configuration section, with the declaration IIS setup writes for it in ``<configSections>``."""

    path: str
    root: Element
    override_mode_default: str = "Allow"
    allow_definition: str = "Everywhere"

    @property
    def app_host_only(self) -> bool:
        """True when the section may be set only for the whole server (location path "")."""
        return self.allow_definition in ("AppHostOnly", "MachineOnly")


def resolve_element(section: Section, steps: t.Sequence[t.Any]) -> Element:
    """Walk a contract path (element names and item keys) through the schema; KeyError when it leaves it."""
    element = section.root
    for step in steps:
        if isinstance(step, str):
            child = element.child(step)
            if child is None:
                raise KeyError(step)
            element = child
        else:
            if element.collection is None:
                raise KeyError("(item)")
            element = element.collection.item
    return element
