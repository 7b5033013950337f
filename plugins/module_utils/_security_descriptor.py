# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""Binary SIDs and self-relative security descriptors (MS-DTYP 2.4.2, 2.4.6). Pure logic, no I/O.

Enough of the format to read and write the resource-based constrained delegation
attribute, msDS-AllowedToActOnBehalfOfOtherIdentity, whose value is a security
descriptor such as ``O:BAD:(A;;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;<SID>)``: one
access-allowed ACE per principal allowed to delegate. ACEs of other types,
the group and the SACL are kept byte for byte when a descriptor is rewritten.
"""

from __future__ import annotations

import re
import struct
import typing as t
from dataclasses import dataclass, field

ACCESS_ALLOWED_ACE_TYPE = 0x00
ACCESS_DENIED_ACE_TYPE = 0x01
SE_DACL_PRESENT = 0x0004
SE_SACL_PRESENT = 0x0010
SE_SELF_RELATIVE = 0x8000
ACL_REVISION_DS = 4
BUILTIN_ADMINISTRATORS = "S-1-5-32-544"
# CC DC LC SW RP WP DT LO CR SD RC WD WO: what Windows and Samba write for an RBCD principal.
# The KDC checks these specific rights; a generic GENERIC_ALL bit would not be expanded.
RBCD_ACCESS_MASK = 0x000F01FF

_SID_RE = re.compile(r"^S-1-(\d+)((?:-\d+)*)$", re.IGNORECASE)


class DescriptorError(ValueError):
    """Bytes that are not a valid SID or self-relative security descriptor."""


def sid_to_bytes(sid: str) -> bytes:
    match = _SID_RE.match(sid.strip())
    if not match:
        raise DescriptorError("%r is not a SID (S-1-...)" % sid)
    authority = int(match.group(1))
    subs = [int(part) for part in match.group(2).split("-")[1:]]
    if len(subs) > 15 or authority >= 1 << 48 or any(s >= 1 << 32 for s in subs):
        raise DescriptorError("%r is not a valid SID" % sid)
    return struct.pack("<BB", 1, len(subs)) + authority.to_bytes(6, "big") + b"".join(
        struct.pack("<I", s) for s in subs)


def sid_from_bytes(data: bytes, offset: int = 0) -> tuple[str, int]:
    """Decode the SID at ``offset``; return it and its length in bytes."""
    if len(data) < offset + 8:
        raise DescriptorError("truncated SID at offset %d" % offset)
    revision, count = data[offset], data[offset + 1]
    length = 8 + 4 * count
    if revision != 1 or len(data) < offset + length:
        raise DescriptorError("invalid SID at offset %d" % offset)
    authority = int.from_bytes(data[offset + 2:offset + 8], "big")
    subs = struct.unpack_from("<%dI" % count, data, offset + 8)
    return "S-1-%d%s" % (authority, "".join("-%d" % s for s in subs)), length


@dataclass
class Ace:
    """One ACE. Access-allowed and access-denied ACEs are decoded; any other type stays in ``raw``."""

    ace_type: int
    flags: int = 0
    mask: int = 0
    sid: str | None = None
    raw: bytes | None = None

    def encode(self) -> bytes:
        if self.raw is not None:
            return self.raw
        body = struct.pack("<I", self.mask) + sid_to_bytes(self.sid or "")
        return struct.pack("<BBH", self.ace_type, self.flags, 4 + len(body)) + body


@dataclass
class SecurityDescriptor:
    control: int = SE_DACL_PRESENT | SE_SELF_RELATIVE
    owner: str | None = None
    group: str | None = None
    sacl: bytes | None = None  # the whole ACL, kept as read
    dacl: list[Ace] | None = field(default_factory=list)
    dacl_revision: int = ACL_REVISION_DS

    def allowed_sids(self) -> list[str]:
        """SIDs of the access-allowed ACEs, in order, without repeats."""
        sids: list[str] = []
        for ace in self.dacl or []:
            if ace.ace_type == ACCESS_ALLOWED_ACE_TYPE and ace.sid and ace.sid not in sids:
                sids.append(ace.sid)
        return sids

    def encode(self) -> bytes:
        """Self-relative form, laid out as Windows and Samba write it: owner, group, SACL, DACL."""
        body = b""
        offsets = [0, 0, 0, 0]
        parts: list[bytes | None] = [
            sid_to_bytes(self.owner) if self.owner else None,
            sid_to_bytes(self.group) if self.group else None,
            self.sacl,
            _encode_acl(self.dacl, self.dacl_revision) if self.dacl is not None else None,
        ]
        for index, part in enumerate(parts):
            if part is not None:
                offsets[index] = 20 + len(body)
                body += part
        control = self.control | SE_SELF_RELATIVE
        control = control | SE_DACL_PRESENT if self.dacl is not None else control & ~SE_DACL_PRESENT
        control = control | SE_SACL_PRESENT if self.sacl is not None else control & ~SE_SACL_PRESENT
        return struct.pack("<BBHIIII", 1, 0, control, *offsets) + body


def _encode_acl(aces: list[Ace], revision: int) -> bytes:
    data = b"".join(ace.encode() for ace in aces)
    return struct.pack("<BBHHH", revision, 0, 8 + len(data), len(aces), 0) + data


def _decode_acl(data: bytes, offset: int) -> tuple[list[Ace], int, int]:
    if len(data) < offset + 8:
        raise DescriptorError("truncated ACL at offset %d" % offset)
    revision, _sbz, size, count, _sbz2 = struct.unpack_from("<BBHHH", data, offset)
    if len(data) < offset + size:
        raise DescriptorError("ACL at offset %d is longer than the descriptor" % offset)
    aces: list[Ace] = []
    pos = offset + 8
    for _index in range(count):
        if pos + 4 > offset + size:
            raise DescriptorError("truncated ACE at offset %d" % pos)
        ace_type, flags, ace_size = struct.unpack_from("<BBH", data, pos)
        if ace_size < 4 or pos + ace_size > offset + size:
            raise DescriptorError("invalid ACE size at offset %d" % pos)
        if ace_type in (ACCESS_ALLOWED_ACE_TYPE, ACCESS_DENIED_ACE_TYPE):
            (mask,) = struct.unpack_from("<I", data, pos + 4)
            sid, _length = sid_from_bytes(data[:pos + ace_size], pos + 8)
            aces.append(Ace(ace_type, flags, mask, sid))
        else:
            aces.append(Ace(ace_type, flags, raw=bytes(data[pos:pos + ace_size])))
        pos += ace_size
    return aces, revision, size


def parse_descriptor(data: bytes) -> SecurityDescriptor:
    """Decode a self-relative security descriptor; raise DescriptorError when it is not one."""
    data = bytes(data)
    if len(data) < 20:
        raise DescriptorError("a security descriptor has at least 20 bytes, got %d" % len(data))
    revision, _sbz, control, owner_at, group_at, sacl_at, dacl_at = struct.unpack_from("<BBHIIII", data, 0)
    if revision != 1 or not control & SE_SELF_RELATIVE:
        raise DescriptorError("not a self-relative security descriptor (revision %d, control 0x%04x)"
                              % (revision, control))
    sd = SecurityDescriptor(control=control, dacl=None)
    if owner_at:
        sd.owner = sid_from_bytes(data, owner_at)[0]
    if group_at:
        sd.group = sid_from_bytes(data, group_at)[0]
    if sacl_at and control & SE_SACL_PRESENT:
        _aces, _revision, size = _decode_acl(data, sacl_at)
        sd.sacl = data[sacl_at:sacl_at + size]
    if dacl_at and control & SE_DACL_PRESENT:
        sd.dacl, sd.dacl_revision, _size = _decode_acl(data, dacl_at)
    return sd


def rbcd_descriptor(sids: t.Iterable[str]) -> SecurityDescriptor:
    """``O:BAD:(A;;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;<sid>)...``: what Windows and Samba write for RBCD."""
    return SecurityDescriptor(owner=BUILTIN_ADMINISTRATORS,
                              dacl=[Ace(ACCESS_ALLOWED_ACE_TYPE, 0, RBCD_ACCESS_MASK, sid) for sid in sids])


def with_allowed_sids(sd: SecurityDescriptor | None, sids: t.Sequence[str]) -> SecurityDescriptor:
    """``sd`` whose access-allowed principals are exactly ``sids``; everything else kept.

    Existing ACEs of principals that stay are kept as they are (mask and flags);
    new principals get an ACE with the RBCD access mask, appended in order.
    """
    if sd is None:
        return rbcd_descriptor(sids)
    wanted = [s.upper() for s in sids]
    kept: list[Ace] = []
    present: set[str] = set()
    for ace in sd.dacl or []:
        if ace.ace_type == ACCESS_ALLOWED_ACE_TYPE and ace.sid:
            if ace.sid.upper() not in wanted:
                continue
            present.add(ace.sid.upper())
        kept.append(ace)
    kept.extend(Ace(ACCESS_ALLOWED_ACE_TYPE, 0, RBCD_ACCESS_MASK, sid) for sid in sids if sid.upper() not in present)
    return SecurityDescriptor(control=sd.control, owner=sd.owner, group=sd.group, sacl=sd.sacl, dacl=kept,
                              dacl_revision=sd.dacl_revision)


def is_empty(sd: SecurityDescriptor) -> bool:
    """No ACE and no SACL: the attribute can simply be cleared."""
    return not sd.dacl and sd.sacl is None
