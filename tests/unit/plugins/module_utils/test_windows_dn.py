"""Distinguished-name syntax: what a malformed DN in account or target is refused for, before any LDAP traffic."""

from __future__ import annotations

import pytest

from ansible_collections.webfarm.winauth.plugins.module_utils._directory.objects import find_object
from ansible_collections.webfarm.winauth.plugins.module_utils._windows.dn import dn_problem
from ansible_collections.webfarm.winauth.plugins.module_utils._windows.errors import InvalidInput


@pytest.mark.parametrize("dn", [
    "CN=cam-svc,OU=ServiceAccounts,DC=camtest,DC=local",
    "cn=cam-svc, ou=ServiceAccounts, dc=camtest, dc=local",
    "CN=Smith\\, John,OU=People,DC=camtest,DC=local",
    "CN=a\\2Cb\\+c\\\\d,DC=camtest,DC=local",
    "OID.2.5.4.3=x,DC=camtest,DC=local".replace("OID.", ""),
])
def test_valid_dns_pass(dn: str) -> None:
    assert dn_problem(dn) is None


@pytest.mark.parametrize("dn, problem", [
    ("CN=x,,DC=camtest,DC=local", "empty RDN"),
    (",CN=x,DC=camtest", "empty RDN"),
    ("CN=x,DC=camtest,", "ends with a comma"),
    ("CN=x,DC=", "has no value"),
    ("=x,DC=camtest", "not type=value"),
    ("CN x,DC=camtest", "not type=value"),
    ("CN=a+OU=b,DC=camtest", "+ unescaped"),
    ("CN=a;b,DC=camtest", "; unescaped"),
    ("CN=<script>,DC=camtest", "< > unescaped"),
    ("CN=a\\,DC=camtest\\", "escapes nothing"),
    ("CN=a\\zz,DC=camtest", "escapes nothing"),
    ("CN=a\x00b,DC=camtest", "control character"),
    ("CN=a\nb,DC=camtest", "control character"),
])
def test_malformed_dns_are_explained(dn: str, problem: str) -> None:
    assert problem in (dn_problem(dn) or "")


class _NoDirectory:
    """A connection that must not be used: a malformed DN is refused before any request."""

    def __getattr__(self, name):
        raise AssertionError("the directory was asked (%s) for a malformed DN" % name)


def test_find_object_refuses_a_malformed_dn_naming_the_parameter() -> None:
    with pytest.raises(InvalidInput, match=r"^account=CN=x,,DC=camtest is not a valid distinguished name: it has an "
                                           r"empty RDN .*give it as CN=name"):
        find_object(_NoDirectory(), "CN=x,,DC=camtest")
