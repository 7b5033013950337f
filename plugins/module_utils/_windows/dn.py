# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""Distinguished names (RFC 4514) and LDAP filter values (RFC 4515) as text. Pure logic, no I/O.

Active Directory compares DNs case-insensitively; these helpers split on unescaped commas and
compare lower-cased, which is all the collection needs (no attribute type aliases, no hex values).
"""

from __future__ import annotations


def escape_filter_value(value: str) -> str:
    """RFC 4515 escaping of a filter assertion value: ``\\ * ( )`` and NUL as ``\\XX``."""
    return "".join("\\%02x" % ord(char) if char in "\\*()\0" else char for char in value)


def split_dn(dn: str) -> list[str]:
    """The RDNs of a DN, split on unescaped commas, each stripped."""
    parts: list[str] = []
    current = ""
    escaped = False
    for char in dn:
        if escaped:
            current += char
            escaped = False
        elif char == "\\":
            current += char
            escaped = True
        elif char == ",":
            parts.append(current.strip())
            current = ""
        else:
            current += char
    if current.strip():
        parts.append(current.strip())
    return parts


def parent_dn(dn: str) -> str:
    """The DN one level up ("" above the top)."""
    parts = split_dn(dn)
    return ",".join(parts[1:])


def normalize_dn(dn: str) -> str:
    """A DN as AD compares it: RDNs joined without spaces, lower-cased."""
    return ",".join(part.lower() for part in split_dn(dn))


def is_under(dn: str, ancestor: str) -> bool:
    """Whether ``dn`` is ``ancestor`` or below it."""
    child, parent = normalize_dn(dn), normalize_dn(ancestor)
    return child == parent or child.endswith("," + parent)


def dn_to_dns_domain(dn: str) -> str:
    """``DC=camtest,DC=local`` -> ``camtest.local``."""
    return ".".join(rdn.split("=", 1)[1] for rdn in dn.split(",") if rdn.strip().upper().startswith("DC="))
