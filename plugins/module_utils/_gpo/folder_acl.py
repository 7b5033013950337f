# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""The ACL of a GPO's SYSVOL folder, derived from its Group Policy Container's ACL. Pure: descriptors in and out.

A GPO lives in two places: the Group Policy Container in AD and the Group Policy Template folder
in SYSVOL. Who may read and edit it is set on the container; the folder must carry the matching
file-system ACL, derived ACE by ACE. The mapping is the one Samba's ``samba-tool gpo create``
applies and ``samba-tool gpo aclcheck`` verifies:

* every allow ACE (plain or object ACE) is kept, except the one for Pre-Windows 2000 Compatible
  Access, and made to inherit to files and folders (OI|CI); CREATOR OWNER's ACE becomes inherit-only;
* directory rights become file rights: read property + list contents give read and execute, write
  property gives write, create child gives add file and subfolder, delete child stays delete child;
  standard rights are kept;
* deny ACEs are dropped; owner, group and the DACL's protection are copied.
"""

from __future__ import annotations

from ansible_collections.webfarm.winauth.plugins.module_utils._windows.security_descriptor import (
    ACCESS_ALLOWED_ACE_TYPE,
    ACCESS_ALLOWED_OBJECT_ACE_TYPE,
    CONTAINER_INHERIT_ACE,
    DACL_SECURITY_INFORMATION,
    GROUP_SECURITY_INFORMATION,
    INHERIT_ONLY_ACE,
    OBJECT_INHERIT_ACE,
    OWNER_SECURITY_INFORMATION,
    PROTECTED_DACL_SECURITY_INFORMATION,
    SE_DACL_AUTO_INHERIT_REQ,
    SE_DACL_AUTO_INHERITED,
    SE_DACL_PRESENT,
    SE_DACL_PROTECTED,
    UNPROTECTED_DACL_SECURITY_INFORMATION,
    Ace,
    AnyAce,
    DescriptorError,
    ObjectAce,
    RawAce,
    SecurityDescriptor,
    to_sddl,
)

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
_PROTECTION = SE_DACL_PROTECTED | SE_DACL_AUTO_INHERITED | SE_DACL_AUTO_INHERIT_REQ


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
    aces: list[AnyAce] = []
    for index, ace in enumerate(container.dacl or []):
        if ace.ace_type not in (ACCESS_ALLOWED_ACE_TYPE, ACCESS_ALLOWED_OBJECT_ACE_TYPE):
            continue
        if isinstance(ace, RawAce):
            raise DescriptorError("ACE #%d of the GPO container's DACL is an allow ACE whose body cannot be read; "
                                  "fix the container's ACL (GPMC, Delegation tab) first" % (index + 1))
        if ace.sid == SID_PRE_WINDOWS_2000:
            continue
        flags = ace.flags | OBJECT_INHERIT_ACE | CONTAINER_INHERIT_ACE
        if ace.sid == SID_CREATOR_OWNER:
            flags |= INHERIT_ONLY_ACE
        mask = ds_mask_to_file_mask(ace.mask)
        if isinstance(ace, ObjectAce):
            aces.append(ObjectAce(ace.ace_type, flags, mask, ace.sid, ace.object_type, ace.inherited_object_type))
        else:
            aces.append(Ace(ace.ace_type, flags, mask, ace.sid))
    return SecurityDescriptor(control=(container.control & _PROTECTION) | SE_DACL_PRESENT, owner=container.owner,
                              group=container.group, dacl=aces, dacl_revision=container.dacl_revision)


def set_information_flags(sd: SecurityDescriptor) -> int:
    """AdditionalInformation for writing owner, group and DACL (with its protection) of ``sd``."""
    protection = PROTECTED_DACL_SECURITY_INFORMATION if sd.control & SE_DACL_PROTECTED \
        else UNPROTECTED_DACL_SECURITY_INFORMATION
    return OWNER_SECURITY_INFORMATION | GROUP_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION | protection


def same_folder_acl(actual: SecurityDescriptor, expected: SecurityDescriptor) -> bool:
    """Owner, group, DACL protection and the ordered ACE list agree (what aclcheck compares)."""
    return to_sddl(_comparable(actual)) == to_sddl(_comparable(expected))


def _comparable(sd: SecurityDescriptor) -> SecurityDescriptor:
    return SecurityDescriptor(control=sd.control & _PROTECTION, owner=sd.owner, group=sd.group, dacl=sd.dacl)
