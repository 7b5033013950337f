"""Unit tests of gpo_user_rights' guard rails: no holder at all, and a deny right for (nearly) everybody."""

from __future__ import annotations

import pytest

from ansible_collections.webfarm.winauth.plugins.module_utils._gpo.container import check_gpo_name
from ansible_collections.webfarm.winauth.plugins.module_utils._gpo.rights_rules import broad_name, check_rights_edit
from ansible_collections.webfarm.winauth.plugins.module_utils._windows.errors import InvalidInput

DOMAIN = "S-1-5-21-1004336348-1177238915-682003330"


def test_exact_with_no_account_needs_allow_no_holders() -> None:
    with pytest.raises(InvalidInput, match=r"accounts=\[\] with mode=exact .* answer 503.*allow_no_holders: true"):
        check_rights_edit("SeBatchLogonRight", "exact", "present", [], False, False)
    check_rights_edit("SeBatchLogonRight", "exact", "present", [], True, False)
    check_rights_edit("SeBatchLogonRight", "exact", "absent", [], False, False)
    check_rights_edit("SeBatchLogonRight", "remove", "present", [], False, False)
    with pytest.raises(InvalidInput) as info:
        check_rights_edit("SeServiceLogonRight", "exact", "present", [], False, False)
    assert "503" not in str(info.value)


@pytest.mark.parametrize("sid, name", [
    ("S-1-1-0", "Everyone"), ("s-1-5-11", "NT AUTHORITY\\Authenticated Users"), ("S-1-5-32-545", "BUILTIN\\Users"),
    (DOMAIN + "-513", "Domain Users (%s-513)" % DOMAIN), (DOMAIN + "-515", "Domain Computers (%s-515)" % DOMAIN),
])
def test_a_deny_right_for_nearly_everybody_needs_allow_broad_deny(sid, name) -> None:
    assert broad_name(sid) == name
    for mode in ("add", "exact"):
        with pytest.raises(InvalidInput, match="allow_broad_deny: true") as info:
            check_rights_edit("SeDenyNetworkLogonRight", mode, "present", [DOMAIN + "-1105", sid], False, False)
        assert name in str(info.value) and "SeDenyNetworkLogonRight" in str(info.value)
    check_rights_edit("SeDenyNetworkLogonRight", "add", "present", [sid], False, True)
    check_rights_edit("SeDenyNetworkLogonRight", "remove", "present", [sid], False, False)
    check_rights_edit("SeBatchLogonRight", "add", "present", [sid], False, False)     # a grant, not a deny


@pytest.mark.parametrize("sid", ["S-1-5-7", "S-1-5-32-546", DOMAIN + "-512", DOMAIN + "-1105"])
def test_specific_principals_may_be_denied(sid) -> None:
    assert broad_name(sid) is None
    check_rights_edit("SeDenyInteractiveLogonRight", "exact", "present", [sid], False, False)


@pytest.mark.parametrize("name, fragment", [
    ("", "is empty"), ("   ", "is empty"), ("x" * 257, "at most 256 characters"),
    ("IIS\nBatchLogon", "U+000A"), ("IIS\x00BatchLogon", "U+0000"),
])
def test_gpo_display_names_outside_the_directory_limits_are_refused(name, fragment) -> None:
    with pytest.raises(InvalidInput, match="^gpo") as info:
        check_gpo_name(name, "gpo")
    assert fragment in str(info.value)


def test_gpo_display_names_within_the_limits_and_guids_pass() -> None:
    check_gpo_name("x" * 256)
    check_gpo_name("IIS-BatchLogon Ünïcode")
    check_gpo_name("{31B2F340-016D-11D2-945F-00C04FB984F9}")
    check_gpo_name(None)
