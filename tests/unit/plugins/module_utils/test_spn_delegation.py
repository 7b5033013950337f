"""Unit tests of the pure delegation logic: SIDs, the RBCD security descriptor, planning, diff, warnings."""

from __future__ import annotations

import struct

import pytest

from ansible_collections.webfarm.winauth.plugins.module_utils._directory.delegation_rules import (
    ALLOWED_TO_ACT,
    ALLOWED_TO_DELEGATE_TO,
    USER_ACCOUNT_CONTROL,
    DelegationError,
    DelegationRequest,
    DelegationState,
    delegation_warnings,
    plan_delegation,
    render_view,
)
from ansible_collections.webfarm.winauth.plugins.module_utils._directory.delegation_rules import (
    rbcd_descriptor,
    with_allowed_sids,
)
from ansible_collections.webfarm.winauth.plugins.module_utils._windows.security_descriptor import (
    ACCESS_DENIED_ACE_TYPE,
    Ace,
    DescriptorError,
    RawAce,
    parse_descriptor,
)
from ansible_collections.webfarm.winauth.plugins.module_utils._windows.sid import SidError, sid_from_bytes, sid_to_bytes
from ansible_collections.webfarm.winauth.plugins.module_utils._directory.spn_names import parse_spn

DOMAIN = "S-1-5-21-3144985026-3175432055-1497275805"
CAM_SVC_SID = DOMAIN + "-1102"
SERVER1_SID = DOMAIN + "-1106"
DN = "CN=cam-svc,OU=ServiceAccounts,DC=camtest,DC=local"
NORMAL_ACCOUNT = 0x200
DONT_EXPIRE = 0x10000

# O:BAD:(A;;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;<CAM_SVC_SID>) laid out by hand from MS-DTYP 2.4.6:
# header (revision 1, control SE_SELF_RELATIVE|SE_DACL_PRESENT, owner at 0x14, no group, no SACL, DACL at 0x24),
# owner S-1-5-32-544, then the DACL (revision 4, one ACE: allowed, mask 0x000F01FF, the SID).
SID_BYTES = bytes([1, 5, 0, 0, 0, 0, 0, 5]) + struct.pack("<5I", 21, 3144985026, 3175432055, 1497275805, 1102)
EXPECTED_SD = (
    bytes([1, 0]) + struct.pack("<H", 0x8004) + struct.pack("<4I", 0x14, 0, 0, 0x24)
    + bytes([1, 2, 0, 0, 0, 0, 0, 5]) + struct.pack("<2I", 32, 544)
    + bytes([4, 0]) + struct.pack("<HHH", 8 + 36, 1, 0)
    + bytes([0, 0]) + struct.pack("<H", 36) + struct.pack("<I", 0x000F01FF) + SID_BYTES
)


# --------------------------------------------------------------------------- SIDs and descriptors

def test_sid_round_trip():
    assert sid_to_bytes(CAM_SVC_SID) == SID_BYTES
    assert sid_from_bytes(SID_BYTES) == (CAM_SVC_SID, 28)
    assert sid_from_bytes(sid_to_bytes("S-1-5-32-544"))[0] == "S-1-5-32-544"
    assert sid_from_bytes(sid_to_bytes("S-1-1-0"))[0] == "S-1-1-0"


@pytest.mark.parametrize("bad", ["", "S-1", "S-2-5-32", "cam-svc", "S-1-5-x"])
def test_sid_to_bytes_rejects(bad):
    with pytest.raises(SidError):
        sid_to_bytes(bad)


def test_rbcd_descriptor_matches_the_windows_and_samba_layout():
    assert rbcd_descriptor([CAM_SVC_SID]).encode() == EXPECTED_SD


def test_parse_round_trip():
    sd = parse_descriptor(EXPECTED_SD)
    assert sd.owner == "S-1-5-32-544" and sd.group is None and sd.sacl is None
    assert sd.allowed_sids() == [CAM_SVC_SID]
    assert sd.dacl[0].mask == 0x000F01FF
    assert sd.encode() == EXPECTED_SD


@pytest.mark.parametrize("data", [b"", b"\x01\x00\x04\x80", EXPECTED_SD[:-4], b"\x02" + EXPECTED_SD[1:],
                                  EXPECTED_SD[:2] + b"\x04\x00" + EXPECTED_SD[4:]])
def test_parse_rejects_garbage(data):
    with pytest.raises(DescriptorError):
        parse_descriptor(data)


def test_with_allowed_sids_keeps_owner_other_aces_and_masks():
    deny = Ace(ACCESS_DENIED_ACE_TYPE, 0, 0x100, SERVER1_SID)
    odd = RawAce(0x05, 0, raw=bytes([0x05, 0x00, 0x08, 0x00, 1, 2, 3, 4]))  # a malformed object ACE kept as bytes
    original = rbcd_descriptor([CAM_SVC_SID])
    original.dacl[0].mask = 0xF31FFFFF  # what some tools write; kept for principals that stay
    original.dacl = [deny, original.dacl[0], odd]
    updated = with_allowed_sids(parse_descriptor(original.encode()), [CAM_SVC_SID, SERVER1_SID])
    assert updated.allowed_sids() == [CAM_SVC_SID, SERVER1_SID]
    reparsed = parse_descriptor(updated.encode())
    assert [a.ace_type for a in reparsed.dacl] == [ACCESS_DENIED_ACE_TYPE, 0, 0x05, 0]
    assert reparsed.dacl[1].mask == 0xF31FFFFF and reparsed.dacl[3].mask == 0x000F01FF
    assert reparsed.dacl[2].raw == odd.raw
    removed = with_allowed_sids(reparsed, [])
    assert removed.allowed_sids() == [] and len(removed.dacl) == 2


# --------------------------------------------------------------------------- planning

def state(uac=NORMAL_ACCOUNT | DONT_EXPIRE, a2d=(), sids=None):
    return DelegationState(dn=DN, user_account_control=uac, allowed_to_delegate_to=list(a2d),
                           allowed_to_act=rbcd_descriptor(sids).encode() if sids is not None else None)


def spns(*values):
    return [parse_spn(v) for v in values]


def test_constrained_with_protocol_transition():
    plan = plan_delegation(state(), DelegationRequest(allowed_to_delegate_to=spns("MSSQLSvc/sql1.camtest.local:1433"),
                                                      protocol_transition=True))
    assert plan.changes == {
        ALLOWED_TO_DELEGATE_TO: [("add", ["MSSQLSvc/sql1.camtest.local:1433"])],
        USER_ACCOUNT_CONTROL: [("delete", [str(NORMAL_ACCOUNT | DONT_EXPIRE)]),
                               ("add", [str(NORMAL_ACCOUNT | DONT_EXPIRE | 0x1000000)])],
    }
    assert plan.after.protocol_transition and not plan.before.protocol_transition


def test_second_run_is_no_change_case_insensitively():
    current = state(uac=NORMAL_ACCOUNT | 0x1000000, a2d=["mssqlsvc/SQL1.camtest.local:1433"])
    plan = plan_delegation(current, DelegationRequest(allowed_to_delegate_to=spns("MSSQLSvc/sql1.camtest.local:1433"),
                                                      protocol_transition=True))
    assert not plan.changed


def test_absent_removes_only_listed():
    current = state(a2d=["HTTP/a", "http/B"])
    plan = plan_delegation(current, DelegationRequest(state="absent", allowed_to_delegate_to=spns("HTTP/b", "HTTP/c")))
    assert plan.changes == {ALLOWED_TO_DELEGATE_TO: [("delete", ["http/B"])]}
    assert plan.after.allowed_to_delegate_to == ["HTTP/a"]


def test_exact_replaces_the_list():
    current = state(a2d=["HTTP/a", "HTTP/b"])
    plan = plan_delegation(current, DelegationRequest(state="exact", allowed_to_delegate_to=spns("http/B", "HTTP/c")))
    assert plan.changes == {ALLOWED_TO_DELEGATE_TO: [("delete", ["HTTP/a"]), ("add", ["HTTP/c"])]}
    assert plan.after.allowed_to_delegate_to == ["HTTP/b", "HTTP/c"]


def test_exact_empty_clears():
    plan = plan_delegation(state(a2d=["HTTP/a"]), DelegationRequest(state="exact", allowed_to_delegate_to=[]))
    assert plan.changes == {ALLOWED_TO_DELEGATE_TO: [("delete", ["HTTP/a"])]}


def test_omitted_settings_are_left_alone():
    current = state(uac=NORMAL_ACCOUNT | 0x80000 | 0x1000000, a2d=["HTTP/a"], sids=[CAM_SVC_SID])
    plan = plan_delegation(current, DelegationRequest(state="exact"))
    assert not plan.changed
    assert plan.after.unconstrained and plan.after.protocol_transition


def test_flags_are_cleared_without_touching_other_bits():
    current = state(uac=NORMAL_ACCOUNT | DONT_EXPIRE | 0x80000 | 0x1000000)
    plan = plan_delegation(current, DelegationRequest(unconstrained=False, protocol_transition=False))
    # Compare-and-swap: the value read is deleted by value, so an account disabled meanwhile is refused, not
    # re-enabled.
    assert plan.changes == {USER_ACCOUNT_CONTROL: [
        ("delete", [str(NORMAL_ACCOUNT | DONT_EXPIRE | 0x80000 | 0x1000000)]), ("add", [str(NORMAL_ACCOUNT | DONT_EXPIRE)])]}


def test_rbcd_present_builds_a_descriptor():
    plan = plan_delegation(state(), DelegationRequest(rbcd_sids=[CAM_SVC_SID]))
    assert plan.changes == {ALLOWED_TO_ACT: [("add", [EXPECTED_SD])]}
    assert plan.after.rbcd_sids == [CAM_SVC_SID]


def test_rbcd_present_again_is_no_change():
    assert not plan_delegation(state(sids=[CAM_SVC_SID]), DelegationRequest(rbcd_sids=[CAM_SVC_SID])).changed


def test_rbcd_present_adds_to_existing():
    plan = plan_delegation(state(sids=[CAM_SVC_SID]), DelegationRequest(rbcd_sids=[SERVER1_SID]))
    (delete, (old,)), (add, (value,)) = plan.changes[ALLOWED_TO_ACT]
    assert (delete, add) == ("delete", "add")  # compare-and-swap: a principal added meanwhile is never dropped
    assert old == rbcd_descriptor([CAM_SVC_SID]).encode()
    assert parse_descriptor(value).allowed_sids() == [CAM_SVC_SID, SERVER1_SID]


def test_rbcd_absent_of_the_last_principal_clears_the_attribute():
    plan = plan_delegation(state(sids=[CAM_SVC_SID]), DelegationRequest(state="absent", rbcd_sids=[CAM_SVC_SID]))
    assert plan.changes == {ALLOWED_TO_ACT: [("delete", [rbcd_descriptor([CAM_SVC_SID]).encode()])]}
    assert plan.after.rbcd_sids == []


def test_rbcd_exact():
    plan = plan_delegation(state(sids=[CAM_SVC_SID]), DelegationRequest(state="exact", rbcd_sids=[SERVER1_SID]))
    (_delete, _old), (_add, (value,)) = plan.changes[ALLOWED_TO_ACT]
    assert parse_descriptor(value).allowed_sids() == [SERVER1_SID]


def test_rbcd_garbage_in_the_directory_is_explained():
    broken = DelegationState(dn=DN, user_account_control=NORMAL_ACCOUNT, allowed_to_act=b"\x00garbage")
    with pytest.raises(DelegationError, match="not a security descriptor"):
        plan_delegation(broken, DelegationRequest(rbcd_sids=[CAM_SVC_SID]))


# --------------------------------------------------------------------------- diff and warnings

def test_render_view_names_principals():
    plan = plan_delegation(state(), DelegationRequest(allowed_to_delegate_to=spns("HTTP/b", "HTTP/a"),
                                                      rbcd_sids=[CAM_SVC_SID]))
    assert render_view(DN, plan.before) == (
        "%s:\n  allowed_to_delegate_to: []\n  protocol_transition: false\n  unconstrained: false\n"
        "  rbcd_principals: []\n" % DN)
    assert render_view(DN, plan.after, {CAM_SVC_SID: "cam-svc (%s)" % CAM_SVC_SID}) == (
        "%s:\n  allowed_to_delegate_to:\n    - HTTP/a\n    - HTTP/b\n  protocol_transition: false\n"
        "  unconstrained: false\n  rbcd_principals:\n    - cam-svc (%s)\n" % (DN, CAM_SVC_SID))


def test_unconstrained_is_always_warned():
    plan = plan_delegation(state(), DelegationRequest(unconstrained=True))
    warnings = delegation_warnings(plan, DelegationRequest(unconstrained=True), "cam-svc")
    assert len(warnings) == 1 and "unconstrained delegation" in warnings[0]
    existing = plan_delegation(state(uac=NORMAL_ACCOUNT | 0x80000), DelegationRequest(rbcd_sids=[]))
    text = delegation_warnings(existing, DelegationRequest(rbcd_sids=[]), "cam-svc")[0]
    assert "set unconstrained: false" in text


def test_protocol_transition_without_targets_and_unheld_spns_warn():
    request = DelegationRequest(protocol_transition=True)
    plan = plan_delegation(state(), request)
    warnings = delegation_warnings(plan, request, "cam-svc", ["HTTP/nowhere"])
    assert any("has no effect yet" in w for w in warnings)
    assert any("no account of the forest holds HTTP/nowhere" in w for w in warnings)


def test_before_is_the_whole_setting_as_read_whatever_the_request_manages():
    current = state(uac=NORMAL_ACCOUNT | 0x1000000, a2d=["HTTP/a"], sids=[SERVER1_SID])
    plan = plan_delegation(current, DelegationRequest(state="exact", allowed_to_delegate_to=spns("HTTP/b")))
    assert plan.before.to_dict() == {"allowed_to_delegate_to": ["HTTP/a"], "protocol_transition": True,
                                     "unconstrained": False, "rbcd_sids": [SERVER1_SID],
                                     "user_account_control": NORMAL_ACCOUNT | 0x1000000}
    assert plan.after.to_dict()["allowed_to_delegate_to"] == ["HTTP/b"]
