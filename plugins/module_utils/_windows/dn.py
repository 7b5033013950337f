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

import re

_ATTRIBUTE_TYPE = re.compile(r"^(?:[A-Za-z][A-Za-z0-9-]*|\d+(?:\.\d+)+)$")
_ESCAPABLE = ' "#+,;<=>\\'
_HEX = "0123456789abcdefABCDEF"


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


def dn_problem(dn: str) -> str | None:
    """What makes ``dn`` no RFC 4514 distinguished name AD accepts, or None when it is one.

    Each RDN is one ``type=value`` (AD has no multi-valued RDNs), the type a name or an OID, the value
    not empty, with ``, + " \\ < > ;`` escaped and no control character.
    """
    text = dn or ""
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in text):
        return "it holds a control character (NUL, line break, ...)"
    index = 0
    while index < len(text):  # escapes: a special character or two hex digits after each backslash
        if text[index] == "\\":
            following = text[index + 1:index + 3]
            if following[:1] and following[:1] in _ESCAPABLE:
                index += 2
                continue
            if len(following) == 2 and all(c in _HEX for c in following):
                index += 3
                continue
            return "the backslash at position %d escapes nothing (write \\\\ for a backslash)" % (index + 1)
        index += 1
    raw = re.sub(r"\\(?:[0-9A-Fa-f]{2}|.)", "_", text)
    if raw.strip().endswith(","):
        return "it ends with a comma"
    for rdn in raw.split(","):
        part = rdn.strip()
        if not part:
            return "it has an empty RDN (two commas in a row, or a leading comma)"
        attribute, equals, value = part.partition("=")
        if not equals or not _ATTRIBUTE_TYPE.match(attribute.strip()):
            return "the RDN %r is not type=value" % part
        if not value.strip():
            return "the RDN %r has no value" % part
        bad = sorted({char for char in value if char in '+"<>;'})
        if bad:
            return "the RDN %r holds %s unescaped (escape it with a backslash)" % (part, " ".join(bad))
    return None


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
