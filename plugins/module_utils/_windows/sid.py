# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""Security identifiers ([MS-DTYP] 2.4.2): the string form ``S-1-5-21-...`` and the binary form (2.4.2.2).

Binary SIDs come from directory attributes (``objectSid``, ``tokenGroups``) and from security
descriptors; string SIDs from users and security templates (``*S-1-5-32-544``). Pure logic, no I/O.
"""

from __future__ import annotations

import re
import struct
import typing as t

from ansible_collections.webfarm.winauth.plugins.module_utils._windows.errors import InvalidInput

_SID_RE = re.compile(r"^S-1-(\d+)((?:-\d+)*)$", re.IGNORECASE)
_LOOSE_SID_RE = re.compile(r"^S-1-\d+(-\d+)+$", re.IGNORECASE)
MAX_SUB_AUTHORITIES = 15


class SidError(InvalidInput):
    """Text or bytes that are not a SID."""


def sid_to_bytes(sid: str) -> bytes:
    """``S-1-5-32-544`` -> the 2.4.2.2 layout: revision 1, count, 48-bit authority (big-endian), sub-authorities."""
    match = _SID_RE.match(sid.strip()) if isinstance(sid, str) else None
    if not match:
        raise SidError("%r is not a SID (S-1-...)" % (sid,))
    authority = int(match.group(1))
    subs = [int(part) for part in match.group(2).split("-")[1:]]
    if len(subs) > MAX_SUB_AUTHORITIES or authority >= 1 << 48 or any(s >= 1 << 32 for s in subs):
        raise SidError("%r is not a valid SID" % sid)
    return struct.pack("<BB", 1, len(subs)) + authority.to_bytes(6, "big") + struct.pack("<%dI" % len(subs), *subs)


def sid_from_bytes(data: bytes, offset: int = 0) -> tuple[str, int]:
    """Decode the binary SID at ``offset``; return its string form and its length in bytes."""
    if len(data) < offset + 8:
        raise SidError("truncated SID at offset %d" % offset)
    revision, count = data[offset], data[offset + 1]
    length = 8 + 4 * count
    if revision != 1 or count > MAX_SUB_AUTHORITIES or len(data) < offset + length:
        raise SidError("invalid SID at offset %d" % offset)
    authority = int.from_bytes(data[offset + 2:offset + 8], "big")
    subs = struct.unpack_from("<%dI" % count, data, offset + 8)
    return "S-1-%d%s" % (authority, "".join("-%d" % s for s in subs)), length


def sid_text(value: t.Any) -> str | None:
    """A SID read from an LDAP attribute (binary, or already text) as its string form; None when empty."""
    if isinstance(value, (bytes, bytearray)):
        return sid_from_bytes(bytes(value))[0] if value else None
    return str(value) if value else None


def is_sid(text: str) -> bool:
    """``S-1-5-21-...``, optionally written ``*S-...`` as security templates do."""
    return bool(_LOOSE_SID_RE.match(text.strip().lstrip("*")))


def normalize_sid(text: str) -> str:
    """``*s-1-5-32-544`` -> ``S-1-5-32-544``. The caller checked :func:`is_sid`."""
    return text.strip().lstrip("*").upper()


def sid_entry(sid: str) -> str:
    """How a security template writes a SID holder: ``*S-1-5-...``."""
    return "*" + sid.upper()
