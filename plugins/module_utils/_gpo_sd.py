# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""Self-relative security descriptors ([MS-DTYP] 2.4.6) and the GPO folder ACL.

A GPO lives in two places: the Group Policy Container in AD and the Group Policy
Template folder in SYSVOL. Who may read and edit it is set on the container; the
folder must carry the matching file-system ACL, derived ACE by ACE. The mapping
here is the one Samba's ``samba-tool gpo create`` applies and ``samba-tool gpo
aclcheck`` verifies:

* every allow ACE (plain or object ACE) is kept, except the one for
  Pre-Windows 2000 Compatible Access, and made to inherit to files and folders
  (OI|CI); CREATOR OWNER's ACE becomes inherit-only;
* directory rights become file rights: read property + list contents give read
  and execute, write property gives write, create child gives add file and
  subfolder, delete child stays delete child; standard rights are kept;
* deny ACEs are dropped; owner, group and the DACL's protection are copied.

Pure: bytes in, bytes out.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

# Control flags (SECURITY_DESCRIPTOR_CONTROL).
SE_DACL_PRESENT = 0x0004
SE_SACL_PRESENT = 0x0010
SE_DACL_AUTO_INHERIT_REQ = 0x0100
SE_DACL_AUTO_INHERITED = 0x0400
SE_DACL_PROTECTED = 0x1000
SE_SELF_RELATIVE = 0x8000

# SECURITY_INFORMATION flags (SMB2 SET_INFO/QUERY_INFO AdditionalInformation).
OWNER_SECURITY_INFORMATION = 0x00000001
GROUP_SECURITY_INFORMATION = 0x00000002
DACL_SECURITY_INFORMATION = 0x00000004
UNPROTECTED_DACL_SECURITY_INFORMATION = 0x20000000
PROTECTED_DACL_SECURITY_INFORMATION = 0x80000000

ACCESS_ALLOWED_ACE_TYPE = 0x00
ACCESS_DENIED_ACE_TYPE = 0x01
ACCESS_ALLOWED_OBJECT_ACE_TYPE = 0x05
ACCESS_DENIED_OBJECT_ACE_TYPE = 0x06

OBJECT_INHERIT_ACE = 0x01
CONTAINER_INHERIT_ACE = 0x02
INHERIT_ONLY_ACE = 0x08
INHERITED_ACE = 0x10

ACE_OBJECT_TYPE_PRESENT = 0x1
ACE_INHERITED_OBJECT_TYPE_PRESENT = 0x2

SID_CREATOR_OWNER = "S-1-3-0"
SID_PRE_WINDOWS_2000 = "S-1-5-32-554"

# Directory-service access rights ([MS-ADTS] 5.1.3.2).
_DS_CREATE_CHILD = 0x00000001
_DS_DELETE_CHILD = 0x00000002
_DS_LIST_CONTENTS = 0x00000004
_DS_READ_PROPERTY = 0x00000010
_DS_WRITE_PROPERTY = 0x00000020
# File rights ([MS-SMB2] 2.2.13.1.1).
_FILE_READ_DATA = 0x0001
_FILE_WRITE_DATA = 0x0002
_FILE_APPEND_DATA = 0x0004
_FILE_READ_EA = 0x0008
_FILE_WRITE_EA = 0x0010
_FILE_EXECUTE = 0x0020
_FILE_DELETE_CHILD = 0x0040
_FILE_READ_ATTRIBUTES = 0x0080
_FILE_WRITE_ATTRIBUTES = 0x0100
_SYNCHRONIZE = 0x00100000
_STANDARD_RIGHTS_ALL = 0x001F0000


class SecurityDescriptorError(ValueError):
    """Bytes that are not a well-formed self-relative security descriptor."""


def sid_from_bytes(data: bytes, offset: int = 0) -> tuple[str, int]:
    """Decode a binary SID at ``offset``; return (string form, length in bytes)."""
    if len(data) < offset + 8:
        raise SecurityDescriptorError("SID truncated at offset %d" % offset)
    revision, count = data[offset], data[offset + 1]
    length = 8 + 4 * count
    if len(data) < offset + length:
        raise SecurityDescriptorError("SID truncated at offset %d" % offset)
    authority = int.from_bytes(data[offset + 2:offset + 8], "big")
    subs = struct.unpack_from("<%dI" % count, data, offset + 8)
    return "S-%d-%d%s" % (revision, authority, "".join("-%d" % s for s in subs)), length


def sid_to_bytes(sid: str) -> bytes:
    parts = sid.upper().split("-")
    if len(parts) < 3 or parts[0] != "S":
        raise SecurityDescriptorError("%r is not a SID" % sid)
    revision, authority = int(parts[1]), int(parts[2])
    subs = [int(p) for p in parts[3:]]
    return struct.pack("<BB", revision, len(subs)) + authority.to_bytes(6, "big") + struct.pack("<%dI" % len(subs), *subs)


@dataclass
class Ace:
    """One ACE. Object ACE fields are raw 16-byte GUIDs; ``raw_body`` keeps ACE types we do not interpret."""

    ace_type: int
    flags: int
    mask: int = 0
    sid: str = ""
    object_type: bytes | None = None
    inherited_object_type: bytes | None = None
    raw_body: bytes | None = None

    @property
    def is_object(self) -> bool:
        return self.ace_type in (ACCESS_ALLOWED_OBJECT_ACE_TYPE, ACCESS_DENIED_OBJECT_ACE_TYPE)

    def to_bytes(self) -> bytes:
        if self.raw_body is not None:
            body = self.raw_body
        elif self.is_object:
            obj_flags = (ACE_OBJECT_TYPE_PRESENT if self.object_type else 0) | \
                (ACE_INHERITED_OBJECT_TYPE_PRESENT if self.inherited_object_type else 0)
            body = struct.pack("<II", self.mask, obj_flags) + (self.object_type or b"") + \
                (self.inherited_object_type or b"") + sid_to_bytes(self.sid)
        else:
            body = struct.pack("<I", self.mask) + sid_to_bytes(self.sid)
        return struct.pack("<BBH", self.ace_type, self.flags, 4 + len(body)) + body


@dataclass
class SecurityDescriptor:
    control: int
    owner: str | None = None
    group: str | None = None
    dacl: list[Ace] | None = None
    dacl_revision: int = 2
    sacl_raw: bytes | None = field(default=None, repr=False)

    def to_bytes(self) -> bytes:
        """Self-relative form: header, owner, group, (SACL), DACL."""
        parts: list[bytes] = []
        offset = 20
        owner_off = group_off = sacl_off = dacl_off = 0
        control = self.control | SE_SELF_RELATIVE
        if self.owner:
            owner_off = offset
            parts.append(sid_to_bytes(self.owner))
            offset += len(parts[-1])
        if self.group:
            group_off = offset
            parts.append(sid_to_bytes(self.group))
            offset += len(parts[-1])
        if self.sacl_raw is not None:
            sacl_off = offset
            parts.append(self.sacl_raw)
            offset += len(self.sacl_raw)
        if self.dacl is not None:
            dacl_off = offset
            aces = b"".join(ace.to_bytes() for ace in self.dacl)
            parts.append(struct.pack("<BBHHH", self.dacl_revision, 0, 8 + len(aces), len(self.dacl), 0) + aces)
            control |= SE_DACL_PRESENT
        header = struct.pack("<BBHIIII", 1, 0, control, owner_off, group_off, sacl_off, dacl_off)
        return header + b"".join(parts)


def _parse_acl(data: bytes, offset: int) -> tuple[int, list[Ace]]:
    if len(data) < offset + 8:
        raise SecurityDescriptorError("ACL truncated at offset %d" % offset)
    revision, _sbz, _size, count, _sbz2 = struct.unpack_from("<BBHHH", data, offset)
    aces: list[Ace] = []
    pos = offset + 8
    for _index in range(count):
        if len(data) < pos + 4:
            raise SecurityDescriptorError("ACE truncated at offset %d" % pos)
        ace_type, flags, size = struct.unpack_from("<BBH", data, pos)
        if size < 8 or len(data) < pos + size:
            raise SecurityDescriptorError("ACE of bad size %d at offset %d" % (size, pos))
        body = data[pos + 4:pos + size]
        if ace_type in (ACCESS_ALLOWED_ACE_TYPE, ACCESS_DENIED_ACE_TYPE):
            mask = struct.unpack_from("<I", body)[0]
            sid = sid_from_bytes(body, 4)[0]
            aces.append(Ace(ace_type, flags, mask, sid))
        elif ace_type in (ACCESS_ALLOWED_OBJECT_ACE_TYPE, ACCESS_DENIED_OBJECT_ACE_TYPE):
            mask, obj_flags = struct.unpack_from("<II", body)
            cursor = 8
            object_type = inherited = None
            if obj_flags & ACE_OBJECT_TYPE_PRESENT:
                object_type = bytes(body[cursor:cursor + 16])
                cursor += 16
            if obj_flags & ACE_INHERITED_OBJECT_TYPE_PRESENT:
                inherited = bytes(body[cursor:cursor + 16])
                cursor += 16
            sid = sid_from_bytes(body, cursor)[0]
            aces.append(Ace(ace_type, flags, mask, sid, object_type, inherited))
        else:
            aces.append(Ace(ace_type, flags, raw_body=bytes(body)))
        pos += size
    return revision, aces


def parse_security_descriptor(data: bytes) -> SecurityDescriptor:
    if len(data) < 20:
        raise SecurityDescriptorError("security descriptor shorter than its header (%d bytes)" % len(data))
    revision, _sbz, control, owner_off, group_off, sacl_off, dacl_off = struct.unpack_from("<BBHIIII", data)
    if revision != 1:
        raise SecurityDescriptorError("security descriptor revision %d is not 1" % revision)
    sd = SecurityDescriptor(control=control)
    if owner_off:
        sd.owner = sid_from_bytes(data, owner_off)[0]
    if group_off:
        sd.group = sid_from_bytes(data, group_off)[0]
    if sacl_off and control & SE_SACL_PRESENT:
        size = struct.unpack_from("<H", data, sacl_off + 2)[0]
        sd.sacl_raw = bytes(data[sacl_off:sacl_off + size])
    if dacl_off and control & SE_DACL_PRESENT:
        sd.dacl_revision, sd.dacl = _parse_acl(data, dacl_off)
    return sd


def ds_mask_to_file_mask(mask: int) -> int:
    """Directory rights of a GPO container ACE -> the file rights of its SYSVOL folder ACE."""
    result = mask & _STANDARD_RIGHTS_ALL
    if mask & _DS_READ_PROPERTY and mask & _DS_LIST_CONTENTS:
        result |= _SYNCHRONIZE | _FILE_READ_DATA | _FILE_READ_ATTRIBUTES | _FILE_READ_EA | _FILE_EXECUTE
    if mask & _DS_WRITE_PROPERTY:
        result |= _SYNCHRONIZE | _FILE_WRITE_DATA | _FILE_APPEND_DATA | _FILE_WRITE_EA | _FILE_WRITE_ATTRIBUTES
    if mask & _DS_CREATE_CHILD:
        result |= _FILE_WRITE_DATA | _FILE_APPEND_DATA
    if mask & _DS_DELETE_CHILD:
        result |= _FILE_DELETE_CHILD
    return result


def folder_descriptor_for_container(container: SecurityDescriptor) -> SecurityDescriptor:
    """The SYSVOL folder ACL that matches a Group Policy Container's ACL (see the module docstring)."""
    aces: list[Ace] = []
    for ace in container.dacl or []:
        if ace.ace_type not in (ACCESS_ALLOWED_ACE_TYPE, ACCESS_ALLOWED_OBJECT_ACE_TYPE):
            continue
        if ace.sid == SID_PRE_WINDOWS_2000:
            continue
        flags = ace.flags | OBJECT_INHERIT_ACE | CONTAINER_INHERIT_ACE
        if ace.sid == SID_CREATOR_OWNER:
            flags |= INHERIT_ONLY_ACE
        aces.append(Ace(ace.ace_type, flags, ds_mask_to_file_mask(ace.mask), ace.sid, ace.object_type,
                        ace.inherited_object_type))
    control = container.control & (SE_DACL_PROTECTED | SE_DACL_AUTO_INHERITED | SE_DACL_AUTO_INHERIT_REQ)
    return SecurityDescriptor(control=control | SE_DACL_PRESENT, owner=container.owner, group=container.group,
                              dacl=aces, dacl_revision=container.dacl_revision)


def set_information_flags(sd: SecurityDescriptor) -> int:
    """AdditionalInformation for writing owner, group and DACL (with its protection) of ``sd``."""
    protection = PROTECTED_DACL_SECURITY_INFORMATION if sd.control & SE_DACL_PROTECTED \
        else UNPROTECTED_DACL_SECURITY_INFORMATION
    return OWNER_SECURITY_INFORMATION | GROUP_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION | protection


def _guid_text(raw: bytes | None) -> str:
    if not raw:
        return ""
    d1, d2, d3 = struct.unpack_from("<IHH", raw)
    return "%08x-%04x-%04x-%s-%s" % (d1, d2, d3, raw[8:10].hex(), raw[10:16].hex())


def to_sddl(sd: SecurityDescriptor) -> str:
    """A compact SDDL rendering (SIDs in full, masks in hex) for messages and comparisons."""
    flags = ""
    if sd.control & SE_DACL_PROTECTED:
        flags += "P"
    if sd.control & SE_DACL_AUTO_INHERIT_REQ:
        flags += "AR"
    if sd.control & SE_DACL_AUTO_INHERITED:
        flags += "AI"
    aces = []
    for ace in sd.dacl or []:
        kind = {ACCESS_ALLOWED_ACE_TYPE: "A", ACCESS_DENIED_ACE_TYPE: "D",
                ACCESS_ALLOWED_OBJECT_ACE_TYPE: "OA", ACCESS_DENIED_OBJECT_ACE_TYPE: "OD"}.get(ace.ace_type)
        if kind is None:
            aces.append("(0x%02x;0x%02x;%s)" % (ace.ace_type, ace.flags, (ace.raw_body or b"").hex()))
            continue
        ace_flags = "".join(code for bit, code in ((OBJECT_INHERIT_ACE, "OI"), (CONTAINER_INHERIT_ACE, "CI"),
                                                   (0x04, "NP"), (INHERIT_ONLY_ACE, "IO"), (INHERITED_ACE, "ID"))
                            if ace.flags & bit)
        aces.append("(%s;%s;0x%08x;%s;%s;%s)" % (kind, ace_flags, ace.mask, _guid_text(ace.object_type),
                                                 _guid_text(ace.inherited_object_type), ace.sid))
    return "O:%sG:%sD:%s%s" % (sd.owner or "", sd.group or "", flags, "".join(aces))


def same_folder_acl(actual: SecurityDescriptor, expected: SecurityDescriptor) -> bool:
    """Owner, group, DACL protection and the ordered ACE list agree (what aclcheck compares)."""
    return to_sddl(_comparable(actual)) == to_sddl(_comparable(expected))


def _comparable(sd: SecurityDescriptor) -> SecurityDescriptor:
    return SecurityDescriptor(control=sd.control & (SE_DACL_PROTECTED | SE_DACL_AUTO_INHERITED |
                                                    SE_DACL_AUTO_INHERIT_REQ),
                              owner=sd.owner, group=sd.group, dacl=sd.dacl)
