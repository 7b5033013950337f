"""Unit tests of how refused directory writes are explained (pure part of _ad_modify)."""

from __future__ import annotations

from ansible_collections.webfarm.winauth.plugins.module_utils._directory.explain import explain_write_failure
from ansible_collections.webfarm.winauth.plugins.module_utils._windows.ldap_codes import (
    is_duplicate_spn_refusal,
    is_system_only_refusal,
)

DN = "CN=cam-svc,OU=ServiceAccounts,DC=camtest,DC=local"


def test_samba_duplicate_spn_refusal_is_recognised():
    result = {"result": 19, "description": "constraintViolation",
              "message": "0000202F: samldb: spn[HTTP/sso.camtest.local] would cause a conflict"}
    assert is_duplicate_spn_refusal(result)
    assert not is_system_only_refusal(result)


def test_windows_duplicate_spn_refusal_is_recognised():
    result = {"result": 19, "message": "000021C7: AtrErr: DSID-03200BBA, #1:\n\t0: 000021C7: DSID-03200BBA, "
                                       "problem 1005 (CONSTRAINT_ATT_TYPE), data 0, Att 90303 (servicePrincipalName)"}
    assert is_duplicate_spn_refusal(result)


def test_other_constraint_violations_are_not_duplicates():
    result = {"result": 19, "message": "0000202F: objectclass_attrs: attribute 'msDS-AllowedToActOnBehalfOfOther"
                                       "Identity' on entry 'CN=X' can only be modified as system"}
    assert not is_duplicate_spn_refusal(result)
    assert is_system_only_refusal(result)
    assert not is_duplicate_spn_refusal({"result": 50, "message": "0000202F spn conflict"})
    assert not is_duplicate_spn_refusal(None)


def test_insufficient_rights_names_object_attribute_and_identity():
    result = {"result": 50, "description": "insufficientAccessRights",
              "message": "error in module acl: insufficient access rights during LDB_MODIFY (50)"}
    text = explain_write_failure(result, DN, ["servicePrincipalName"], "webops@camtest.local")
    assert text.startswith("cannot write servicePrincipalName on %s: webops@camtest.local has no right" % DN)
    assert "insufficient access rights during LDB_MODIFY" in text
    assert "Grant that identity write access to servicePrincipalName" in text


def test_concurrent_change_and_referral():
    assert "run the task again" in explain_write_failure({"result": 16, "message": "x"}, DN, ["a"], None)
    assert "run the task again" in explain_write_failure({"result": 20, "message": "x"}, DN, ["a"], None)
    assert "another domain" in explain_write_failure({"result": 10}, DN, ["a"], None)


def test_other_failures_fall_back_to_the_generic_explanation():
    text = explain_write_failure({"result": 53, "message": "nope"}, DN, ["userAccountControl"], None)
    assert "unwilling" in text and "nope" in text
