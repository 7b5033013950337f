"""Unit tests of how account names are classified (pure)."""

from __future__ import annotations

import pytest

from ansible_collections.webfarm.winauth.plugins.module_utils._windows.errors import InvalidInput
from ansible_collections.webfarm.winauth.plugins.module_utils._directory.objects import parse_identity


@pytest.mark.parametrize("name, kind, value", [
    ("cam-svc", "sam", "cam-svc"),
    ("SERVER1$", "sam", "SERVER1$"),
    ("CAMTEST\\cam-svc", "downlevel", "cam-svc"),
    ("cam-svc@camtest.local", "upn", "cam-svc@camtest.local"),
    ("CN=cam-svc,OU=ServiceAccounts,DC=camtest,DC=local", "dn", "CN=cam-svc,OU=ServiceAccounts,DC=camtest,DC=local"),
    ("S-1-5-21-1-2-3-1105", "sid", "S-1-5-21-1-2-3-1105"),
    ("  user1  ", "sam", "user1"),
    ("CN=Smith\\, John,OU=Users,DC=camtest,DC=local", "dn", "CN=Smith\\, John,OU=Users,DC=camtest,DC=local"),
])
def test_parse_identity(name: str, kind: str, value: str) -> None:
    identity = parse_identity(name)
    assert (identity.kind, identity.value) == (kind, value)


def test_downlevel_keeps_domain() -> None:
    assert parse_identity("CAMTEST\\cam-svc").domain == "CAMTEST"


@pytest.mark.parametrize("name", ["", "   ", "CAMTEST\\", "\\user", "A\\b\\c", "cam-svc\x00x", "CAMTEST\\cam-svc\r\nx"])
def test_malformed_names(name: str) -> None:
    with pytest.raises(InvalidInput):
        parse_identity(name)


def test_computer_without_dollar_matches_its_account() -> None:
    assert "(sAMAccountName=SERVER1$)" in parse_identity("SERVER1").ldap_filter()
