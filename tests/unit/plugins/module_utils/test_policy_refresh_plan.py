"""Options and holder matching of policy_refresh (pure)."""

from __future__ import annotations

import pytest

from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis.policy_refresh import (
    PolicyCheckError,
    check_options,
    holder_matches,
    missing_holders,
    missing_message,
)

CAM = {"sid": "S-1-5-21-1-2-3-1105", "name": "CAMTEST\\cam-svc"}
IIS_IUSRS = {"sid": "S-1-5-32-568", "name": "BUILTIN\\IIS_IUSRS"}


def test_rights_are_spelled_canonically_and_required_ones_are_read() -> None:
    rights, required = check_options({"refresh": True, "wait": 600, "rights": ["sebatchlogonright"],
                                      "require": {"SeServiceLogonRight": "CAMTEST\\cam-svc",
                                                  "SEBATCHLOGONRIGHT": ["cam-svc"]}})
    assert rights == ["SeBatchLogonRight", "SeServiceLogonRight"]
    assert required == {"SeServiceLogonRight": ["CAMTEST\\cam-svc"], "SeBatchLogonRight": ["cam-svc"]}


@pytest.mark.parametrize("options, message", [
    ({"rights": ["LogOnAsBatch"]}, "rights: right=LogOnAsBatch is not a user right"),
    ({"require": {"SeBatchLogonRigth": ["x"]}}, "did you mean SeBatchLogonRight?"),
    ({"require": {"SeBatchLogonRight": []}}, "require.SeBatchLogonRight must list the accounts"),
    ({"wait": 601}, "wait=601"),
    ({"refresh": False}, "refresh=false with no rights and no require has nothing to do"),
])
def test_bad_options(options, message) -> None:
    with pytest.raises(PolicyCheckError, match=None) as caught:
        check_options(dict({"refresh": True, "wait": 600, "rights": []}, **options))
    assert message in str(caught.value)


@pytest.mark.parametrize("required, holder, expected", [
    ("CAMTEST\\cam-svc", CAM, True),
    ("camtest\\CAM-SVC", CAM, True),
    ("cam-svc@camtest.local", CAM, True),
    ("cam-svc", CAM, True),
    ("S-1-5-21-1-2-3-1105", CAM, True),
    ("*S-1-5-21-1-2-3-1105", CAM, True),
    ("OTHER\\cam-svc", CAM, False),
    ("CAMTEST\\user1", CAM, False),
    ("IIS_IUSRS", IIS_IUSRS, True),
    ("BUILTIN\\IIS_IUSRS", IIS_IUSRS, True),
    ("BUILTIN\\Administrators", IIS_IUSRS, False),
    ("CAMTEST\\cam-svc", {"sid": None, "name": None}, False),
])
def test_holder_matching(required, holder, expected) -> None:
    assert holder_matches(required, holder) is expected


def test_missing_holders_and_message() -> None:
    assert missing_holders([CAM, IIS_IUSRS], ["CAMTEST\\cam-svc", "CAMTEST\\user1"]) == ["CAMTEST\\user1"]
    message = missing_message("SERVER1", "SeBatchLogonRight", ["CAMTEST\\user1"], [CAM])
    assert message.startswith("SERVER1: SeBatchLogonRight is not held by CAMTEST\\user1 (effective holders: "
                              "CAMTEST\\cam-svc). Fix: grant SeBatchLogonRight to CAMTEST\\user1 in a GPO linked")
    assert "503" in message and "503" not in missing_message("S", "SeServiceLogonRight", ["x"], [])
