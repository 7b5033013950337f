"""Security descriptors and the SYSVOL folder ACL derived from a GPO container's ACL (pure logic)."""

from __future__ import annotations

import uuid

import pytest

from ansible_collections.webfarm.winauth.plugins.module_utils._gpo.folder_acl import (
    ds_mask_to_file_mask,
    folder_descriptor_for_container,
    same_folder_acl,
    set_information_flags,
)
from ansible_collections.webfarm.winauth.plugins.module_utils._windows.security_descriptor import (
    ACCESS_ALLOWED_ACE_TYPE,
    ACCESS_ALLOWED_OBJECT_ACE_TYPE,
    ACCESS_DENIED_ACE_TYPE,
    PROTECTED_DACL_SECURITY_INFORMATION,
    SE_DACL_PROTECTED,
    Ace,
    DescriptorError,
    ObjectAce,
    SecurityDescriptor,
    parse_descriptor,
    to_sddl,
)
from ansible_collections.webfarm.winauth.plugins.module_utils._windows.sid import SidError, sid_from_bytes, sid_to_bytes

DOMAIN = "S-1-5-21-1111-2222-3333"
DA, EA = DOMAIN + "-512", DOMAIN + "-519"
FULL_DS = 0x000F01FF  # RP WP CC DC LC SW LO DT CR + standard rights (SD RC WD WO)
READ_DS = 0x00020094  # RP LC LO RC
APPLY_GROUP_POLICY = uuid.UUID("edacfd8f-ffb3-11d1-b41d-00a0c968f939").bytes_le


def container() -> SecurityDescriptor:
    """A GPO container's ACL shaped like the one the DC gives a new GPO."""
    return SecurityDescriptor(control=SE_DACL_PROTECTED | 0x3, owner=DA, group=DA, dacl_revision=4, dacl=[
        Ace(ACCESS_ALLOWED_ACE_TYPE, 0x02, FULL_DS, DA),
        Ace(ACCESS_ALLOWED_ACE_TYPE, 0x02, FULL_DS, EA),
        Ace(ACCESS_ALLOWED_ACE_TYPE, 0x0A, FULL_DS, "S-1-3-0"),
        Ace(ACCESS_ALLOWED_ACE_TYPE, 0x00, FULL_DS, DA),
        Ace(ACCESS_ALLOWED_ACE_TYPE, 0x02, READ_DS, "S-1-5-11"),
        ObjectAce(ACCESS_ALLOWED_OBJECT_ACE_TYPE, 0x02, 0x100, "S-1-5-11", object_type=APPLY_GROUP_POLICY),
        Ace(ACCESS_DENIED_ACE_TYPE, 0x02, FULL_DS, DOMAIN + "-1234"),
        Ace(ACCESS_ALLOWED_ACE_TYPE, 0x02, READ_DS, "S-1-5-32-554"),
        Ace(ACCESS_ALLOWED_ACE_TYPE, 0x02, READ_DS, "S-1-5-9"),
    ])


def test_sid_codec() -> None:
    raw = sid_to_bytes(DA)
    assert sid_from_bytes(raw) == (DA, len(raw))
    assert sid_from_bytes(sid_to_bytes("S-1-1-0"))[0] == "S-1-1-0"
    with pytest.raises(SidError):
        sid_from_bytes(raw[:10])


def test_descriptor_round_trip() -> None:
    sd = container()
    parsed = parse_descriptor(sd.encode())
    assert (parsed.owner, parsed.group, parsed.dacl, parsed.dacl_revision) == (sd.owner, sd.group, sd.dacl, 4)
    assert parsed.control == sd.control | 0x8004  # self-relative, DACL present
    assert parsed.encode() == sd.encode()
    with pytest.raises(DescriptorError):
        parse_descriptor(b"\x01\x00")


def test_directory_rights_map_to_file_rights() -> None:
    assert ds_mask_to_file_mask(FULL_DS) == 0x001F01FF
    assert ds_mask_to_file_mask(READ_DS) == 0x001200A9
    assert ds_mask_to_file_mask(0x100) == 0  # apply group policy (control access) has no file meaning
    assert ds_mask_to_file_mask(0x20) == 0x00100116  # write property: write data, append, EA, attributes
    assert ds_mask_to_file_mask(0x01) == 0x00000006  # create child: add file and subfolder


def test_folder_acl_derived_from_the_container() -> None:
    folder = folder_descriptor_for_container(container())
    assert folder.owner == DA and folder.group == DA and folder.control & SE_DACL_PROTECTED
    assert [(ace.ace_type, ace.flags, ace.mask, ace.sid) for ace in folder.dacl] == [
        (0x00, 0x03, 0x001F01FF, DA),
        (0x00, 0x03, 0x001F01FF, EA),
        (0x00, 0x0B, 0x001F01FF, "S-1-3-0"),  # creator owner: inherit only
        (0x00, 0x03, 0x001F01FF, DA),
        (0x00, 0x03, 0x001200A9, "S-1-5-11"),
        (0x05, 0x03, 0x00000000, "S-1-5-11"),  # object ACE kept, mask mapped to nothing
        (0x00, 0x03, 0x001200A9, "S-1-5-9"),  # deny and pre-Windows 2000 ACEs dropped
    ]
    assert folder.dacl[5].object_type == APPLY_GROUP_POLICY
    assert to_sddl(folder).startswith("O:%sG:%sD:P(A;OICI;0x001f01ff;;;%s)" % (DA, DA, DA))
    assert "(OA;OICI;0x00000000;edacfd8f-ffb3-11d1-b41d-00a0c968f939;;S-1-5-11)" in to_sddl(folder)
    assert set_information_flags(folder) & PROTECTED_DACL_SECURITY_INFORMATION


def test_acl_comparison_ignores_defaulted_and_self_relative_bits_but_not_aces() -> None:
    expected = folder_descriptor_for_container(container())
    read_back = parse_descriptor(expected.encode())
    read_back.control |= 0x3
    assert same_folder_acl(read_back, expected)
    read_back.dacl[0].mask = 0x001200A9
    assert not same_folder_acl(read_back, expected)
    unprotected = parse_descriptor(expected.encode())
    unprotected.control &= ~SE_DACL_PROTECTED
    assert not same_folder_acl(unprotected, expected)
