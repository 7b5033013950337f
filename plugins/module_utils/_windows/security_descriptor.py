# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""Self-relative security descriptors ([MS-DTYP] 2.4.6), their ACLs (2.4.5) and ACEs (2.4.4). Pure logic, no I/O.

One codec for every descriptor the collection reads and writes: the GPO container's
``nTSecurityDescriptor`` and its SYSVOL folder's ACL, and the resource-based constrained
delegation attribute ``msDS-AllowedToActOnBehalfOfOtherIdentity``. One class per structure:

* :class:`Ace` -- ACCESS_ALLOWED_ACE (2.4.4.2) and ACCESS_DENIED_ACE (2.4.4.4): mask and SID;
* :class:`ObjectAce` -- ACCESS_ALLOWED_OBJECT_ACE (2.4.4.3) and ACCESS_DENIED_OBJECT_ACE
  (2.4.4.5): mask, the optional ObjectType and InheritedObjectType GUIDs, SID;
* :class:`RawAce` -- any other ACE (audit, callback, ...), or one whose body does not decode as its
  type, kept byte for byte: a descriptor another tool wrote is rewritten without losing anything;
* :class:`Acl` -- ACL (2.4.5): revision and ACEs;
* :class:`SecurityDescriptor` -- SECURITY_DESCRIPTOR in self-relative form (2.4.6): control flags,
  owner, group, SACL (kept as read) and DACL.

Validation is strict where the layout is concerned (revision, offsets, sizes inside the
descriptor, SIDs): bytes that are not a descriptor raise :class:`DescriptorError`.
"""

from __future__ import annotations

import struct
import typing as t
from dataclasses import dataclass, field

from ansible_collections.webfarm.winauth.plugins.module_utils._windows.errors import InvalidInput
from ansible_collections.webfarm.winauth.plugins.module_utils._windows.sid import SidError, sid_from_bytes, sid_to_bytes

# SECURITY_DESCRIPTOR_CONTROL (2.4.6).
SE_DACL_PRESENT = 0x0004
SE_SACL_PRESENT = 0x0010
SE_DACL_AUTO_INHERIT_REQ = 0x0100
SE_DACL_AUTO_INHERITED = 0x0400
SE_DACL_PROTECTED = 0x1000
SE_SELF_RELATIVE = 0x8000

# SECURITY_INFORMATION (2.4.7): what a query or set of a descriptor addresses (SMB2 AdditionalInformation).
OWNER_SECURITY_INFORMATION = 0x00000001
GROUP_SECURITY_INFORMATION = 0x00000002
DACL_SECURITY_INFORMATION = 0x00000004
UNPROTECTED_DACL_SECURITY_INFORMATION = 0x20000000
PROTECTED_DACL_SECURITY_INFORMATION = 0x80000000

# ACE_HEADER AceType and AceFlags (2.4.4.1).
ACCESS_ALLOWED_ACE_TYPE = 0x00
ACCESS_DENIED_ACE_TYPE = 0x01
ACCESS_ALLOWED_OBJECT_ACE_TYPE = 0x05
ACCESS_DENIED_OBJECT_ACE_TYPE = 0x06
OBJECT_INHERIT_ACE = 0x01
CONTAINER_INHERIT_ACE = 0x02
NO_PROPAGATE_INHERIT_ACE = 0x04
INHERIT_ONLY_ACE = 0x08
INHERITED_ACE = 0x10

# ACCESS_ALLOWED_OBJECT_ACE Flags (2.4.4.3).
ACE_OBJECT_TYPE_PRESENT = 0x1
ACE_INHERITED_OBJECT_TYPE_PRESENT = 0x2

ACL_REVISION = 2
ACL_REVISION_DS = 4
_HEADER = struct.Struct("<BBHIIII")
_ACL_HEADER = struct.Struct("<BBHHH")


class DescriptorError(InvalidInput):
    """Bytes that are not a well-formed self-relative security descriptor (or a SID in one)."""


@dataclass
class Ace:
    """ACCESS_ALLOWED_ACE / ACCESS_DENIED_ACE (2.4.4.2, 2.4.4.4): who (SID) gets or is denied which rights (mask)."""

    ace_type: int
    flags: int = 0
    mask: int = 0
    sid: str = ""

    def body(self) -> bytes:
        return struct.pack("<I", self.mask) + _sid_bytes(self.sid)

    def encode(self) -> bytes:
        body = self.body()
        return struct.pack("<BBH", self.ace_type, self.flags, 4 + len(body)) + body


@dataclass
class ObjectAce(Ace):
    """ACCESS_ALLOWED_OBJECT_ACE / ACCESS_DENIED_OBJECT_ACE (2.4.4.3, 2.4.4.5); GUIDs as their 16 raw bytes."""

    object_type: bytes | None = None
    inherited_object_type: bytes | None = None

    def body(self) -> bytes:
        present = (ACE_OBJECT_TYPE_PRESENT if self.object_type else 0) | \
            (ACE_INHERITED_OBJECT_TYPE_PRESENT if self.inherited_object_type else 0)
        return (struct.pack("<II", self.mask, present) + (self.object_type or b"") +
                (self.inherited_object_type or b"") + _sid_bytes(self.sid))


@dataclass
class RawAce:
    """An ACE kept as read (``raw``: the whole ACE, header included): a type not decoded here, or a bad body."""

    ace_type: int
    flags: int = 0
    raw: bytes = b""

    def encode(self) -> bytes:
        return self.raw


AnyAce = t.Union[Ace, ObjectAce, RawAce]


def is_plain(ace: AnyAce) -> bool:
    """An ACCESS_ALLOWED_ACE or ACCESS_DENIED_ACE (2.4.4.2, 2.4.4.4): neither an object ACE nor one kept raw."""
    return isinstance(ace, Ace) and not isinstance(ace, ObjectAce)


def _sid_bytes(sid: str) -> bytes:
    try:
        return sid_to_bytes(sid)
    except SidError as exc:
        raise DescriptorError(str(exc)) from None


def _sid_at(data: bytes, offset: int) -> str:
    try:
        return sid_from_bytes(data, offset)[0]
    except SidError as exc:
        raise DescriptorError(str(exc)) from None


def decode_ace(data: bytes, offset: int, end: int) -> tuple[AnyAce, int]:
    """The ACE at ``offset`` (ACE_HEADER, 2.4.4.1) that must end by ``end``; return it and its size."""
    if offset + 4 > end:
        raise DescriptorError("truncated ACE at offset %d" % offset)
    ace_type, flags, size = struct.unpack_from("<BBH", data, offset)
    if size < 8 or offset + size > end:
        raise DescriptorError("invalid ACE size %d at offset %d" % (size, offset))
    ace_bytes = bytes(data[offset:offset + size])
    try:
        if ace_type in (ACCESS_ALLOWED_ACE_TYPE, ACCESS_DENIED_ACE_TYPE):
            (mask,) = struct.unpack_from("<I", ace_bytes, 4)
            return Ace(ace_type, flags, mask, _sid_at(ace_bytes, 8)), size
        if ace_type in (ACCESS_ALLOWED_OBJECT_ACE_TYPE, ACCESS_DENIED_OBJECT_ACE_TYPE):
            mask, present = struct.unpack_from("<II", ace_bytes, 4)
            cursor = 12
            object_type = inherited = None
            if present & ACE_OBJECT_TYPE_PRESENT:
                object_type = ace_bytes[cursor:cursor + 16]
                cursor += 16
            if present & ACE_INHERITED_OBJECT_TYPE_PRESENT:
                inherited = ace_bytes[cursor:cursor + 16]
                cursor += 16
            return ObjectAce(ace_type, flags, mask, _sid_at(ace_bytes, cursor), object_type, inherited), size
    except (struct.error, DescriptorError):
        pass  # a body that does not decode as its type: kept as it is
    return RawAce(ace_type, flags, ace_bytes), size


@dataclass
class Acl:
    """ACL (2.4.5): AclRevision, AclSize, AceCount, then the ACEs in order."""

    revision: int = ACL_REVISION_DS
    aces: list[AnyAce] = field(default_factory=list)

    def encode(self) -> bytes:
        data = b"".join(ace.encode() for ace in self.aces)
        return _ACL_HEADER.pack(self.revision, 0, _ACL_HEADER.size + len(data), len(self.aces), 0) + data

    @classmethod
    def decode(cls, data: bytes, offset: int) -> tuple["Acl", int]:
        """The ACL at ``offset``; return it and its size (AclSize)."""
        if len(data) < offset + _ACL_HEADER.size:
            raise DescriptorError("truncated ACL at offset %d" % offset)
        revision, _sbz1, size, count, _sbz2 = _ACL_HEADER.unpack_from(data, offset)
        if size < _ACL_HEADER.size or len(data) < offset + size:
            raise DescriptorError("ACL at offset %d is longer than the descriptor" % offset)
        aces: list[AnyAce] = []
        pos = offset + _ACL_HEADER.size
        for _index in range(count):
            ace, ace_size = decode_ace(data, pos, offset + size)
            aces.append(ace)
            pos += ace_size
        return cls(revision, aces), size


@dataclass
class SecurityDescriptor:
    """SECURITY_DESCRIPTOR, self-relative (2.4.6). ``dacl`` None: no DACL; ``sacl``: the SACL's bytes as read."""

    control: int = SE_DACL_PRESENT | SE_SELF_RELATIVE
    owner: str | None = None
    group: str | None = None
    dacl: list[AnyAce] | None = field(default_factory=list)
    dacl_revision: int = ACL_REVISION_DS
    sacl: bytes | None = field(default=None, repr=False)

    def allowed_sids(self) -> list[str]:
        """SIDs of the (non-object) access-allowed ACEs of the DACL, in order, without repeats."""
        sids: list[str] = []
        for ace in self.dacl or []:
            if is_plain(ace) and ace.ace_type == ACCESS_ALLOWED_ACE_TYPE and ace.sid and ace.sid not in sids:
                sids.append(ace.sid)
        return sids

    def encode(self) -> bytes:
        """Laid out as Windows and Samba write it: header, owner, group, SACL, DACL."""
        parts: list[bytes | None] = [
            _sid_bytes(self.owner) if self.owner else None,
            _sid_bytes(self.group) if self.group else None,
            self.sacl,
            Acl(self.dacl_revision, self.dacl).encode() if self.dacl is not None else None,
        ]
        offsets = [0, 0, 0, 0]
        body = b""
        for index, part in enumerate(parts):
            if part is not None:
                offsets[index] = _HEADER.size + len(body)
                body += part
        control = self.control | SE_SELF_RELATIVE
        control = control | SE_DACL_PRESENT if self.dacl is not None else control & ~SE_DACL_PRESENT
        control = control | SE_SACL_PRESENT if self.sacl is not None else control & ~SE_SACL_PRESENT
        return _HEADER.pack(1, 0, control, *offsets) + body


def parse_descriptor(data: bytes) -> SecurityDescriptor:
    """Decode a self-relative security descriptor; DescriptorError when the bytes are not one."""
    data = bytes(data)
    if len(data) < _HEADER.size:
        raise DescriptorError("a security descriptor has at least %d bytes, got %d" % (_HEADER.size, len(data)))
    revision, _sbz1, control, owner_at, group_at, sacl_at, dacl_at = _HEADER.unpack_from(data, 0)
    if revision != 1 or not control & SE_SELF_RELATIVE:
        raise DescriptorError("not a self-relative security descriptor (revision %d, control 0x%04x)"
                              % (revision, control))
    sd = SecurityDescriptor(control=control, dacl=None)
    if owner_at:
        sd.owner = _sid_at(data, owner_at)
    if group_at:
        sd.group = _sid_at(data, group_at)
    if sacl_at and control & SE_SACL_PRESENT:
        _sacl, size = Acl.decode(data, sacl_at)
        sd.sacl = data[sacl_at:sacl_at + size]
    if dacl_at and control & SE_DACL_PRESENT:
        acl, _size = Acl.decode(data, dacl_at)
        sd.dacl, sd.dacl_revision = acl.aces, acl.revision
    return sd


def guid_text(raw: bytes | None) -> str:
    """A GUID's 16 bytes (mixed-endian, as Windows stores it) as ``xxxxxxxx-xxxx-...``; "" for none."""
    if not raw:
        return ""
    d1, d2, d3 = struct.unpack_from("<IHH", raw)
    return "%08x-%04x-%04x-%s-%s" % (d1, d2, d3, raw[8:10].hex(), raw[10:16].hex())


_ACE_KINDS = {ACCESS_ALLOWED_ACE_TYPE: "A", ACCESS_DENIED_ACE_TYPE: "D", ACCESS_ALLOWED_OBJECT_ACE_TYPE: "OA",
              ACCESS_DENIED_OBJECT_ACE_TYPE: "OD"}
_FLAG_CODES = ((OBJECT_INHERIT_ACE, "OI"), (CONTAINER_INHERIT_ACE, "CI"), (NO_PROPAGATE_INHERIT_ACE, "NP"),
               (INHERIT_ONLY_ACE, "IO"), (INHERITED_ACE, "ID"))


def to_sddl(sd: SecurityDescriptor) -> str:
    """A compact SDDL rendering of owner, group and DACL (SIDs in full, masks in hex) for messages and comparisons."""
    flags = ""
    if sd.control & SE_DACL_PROTECTED:
        flags += "P"
    if sd.control & SE_DACL_AUTO_INHERIT_REQ:
        flags += "AR"
    if sd.control & SE_DACL_AUTO_INHERITED:
        flags += "AI"
    aces = []
    for ace in sd.dacl or []:
        if isinstance(ace, RawAce):
            aces.append("(0x%02x;0x%02x;%s)" % (ace.ace_type, ace.flags, ace.raw[4:].hex()))
            continue
        ace_flags = "".join(code for bit, code in _FLAG_CODES if ace.flags & bit)
        object_type = guid_text(ace.object_type) if isinstance(ace, ObjectAce) else ""
        inherited = guid_text(ace.inherited_object_type) if isinstance(ace, ObjectAce) else ""
        aces.append("(%s;%s;0x%08x;%s;%s;%s)" % (_ACE_KINDS.get(ace.ace_type, "0x%02x" % ace.ace_type), ace_flags,
                                                 ace.mask, object_type, inherited, ace.sid))
    return "O:%sG:%sD:%s%s" % (sd.owner or "", sd.group or "", flags, "".join(aces))
