"""Unit tests of msDS-SupportedEncryptionTypes: flags by name, planning (other bits kept), input, warnings."""

from __future__ import annotations

import pytest

from ansible_collections.webfarm.winauth.plugins.module_utils._directory.encryption import EncryptionTask
from ansible_collections.webfarm.winauth.plugins.module_utils._directory.encryption_rules import (
    describe,
    encryption_warnings,
    flag_names,
    parse_choices,
    plan_encryption,
    render,
)
from ansible_collections.webfarm.winauth.plugins.module_utils._windows.errors import InvalidInput

DN = "CN=cam-svc,OU=ServiceAccounts,DC=camtest,DC=local"


@pytest.mark.parametrize(("value", "names"), [
    (None, []), (0, []),
    (0x18, ["AES128-CTS-HMAC-SHA1-96", "AES256-CTS-HMAC-SHA1-96"]),
    (0x1C, ["RC4-HMAC", "AES128-CTS-HMAC-SHA1-96", "AES256-CTS-HMAC-SHA1-96"]),
    (0x27, ["DES-CBC-CRC", "DES-CBC-MD5", "RC4-HMAC", "AES256-CTS-HMAC-SHA1-96-SK"]),
    (0x1000004, ["RC4-HMAC", "0x1000000"]),
])
def test_flags_by_name_unknown_bits_in_hex(value, names) -> None:
    assert flag_names(value) == names


def test_describe_says_what_unset_means() -> None:
    assert describe(None) == "not set (absent): the KDC's default applies (DefaultDomainSupportedEncTypes)"
    assert describe(0).startswith("not set (0)")
    assert describe(0x18) == "0x18 (AES128-CTS-HMAC-SHA1-96, AES256-CTS-HMAC-SHA1-96)"
    assert render(DN, 4) == "%s\nmsDS-SupportedEncryptionTypes: 0x4 (RC4-HMAC)\n" % DN


@pytest.mark.parametrize(("current", "ciphers", "after"), [
    (None, 0x18, 0x18),               # unset: AES set explicitly
    (0, 0x18, 0x18),
    (0x4, 0x18, 0x18),                # pinned to RC4: replaced
    (0x27, 0x18, 0x38),               # DES and RC4 cleared, the AES session-key bit kept
    (0x7001C, 0x18, 0x70018),         # FAST, compound identity, claims kept
    (0x18, 0x18, 0x18),               # already so: no change
])
def test_plan_manages_the_cipher_bits_and_keeps_the_others(current, ciphers, after) -> None:
    plan = plan_encryption(DN, current, ciphers)
    assert (plan.before, plan.after, plan.changed) == (current, after, current != after)


def test_choices_default_to_aes_and_refuse_empty_and_des() -> None:
    assert EncryptionTask("cam-svc").ciphers() == 0x18
    assert parse_choices(["AES256", "rc4"]) == 0x14
    with pytest.raises(InvalidInput, match=r"encryption_types=\[\] would leave the account without a cipher"):
        parse_choices([])
    with pytest.raises(InvalidInput, match="'des' is not one of aes128, aes256, rc4"):
        parse_choices(["des"])
    with pytest.raises(InvalidInput, match="^account: "):
        EncryptionTask("CAMTEST\\").ciphers()


def test_rc4_is_always_warned_with_the_cve_and_a_computer_account_too() -> None:
    assert encryption_warnings(plan_encryption(DN, None, 0x18), "cam-svc", False) == []
    (mixed,) = encryption_warnings(plan_encryption(DN, None, 0x1C), "cam-svc", False)
    assert "cam-svc allows RC4:" in mixed and "CVE-2026-20833" in mixed and "KB5073381" in mixed
    (only,) = encryption_warnings(plan_encryption(DN, None, 0x4), "cam-svc", False)
    assert "allows RC4 and only RC4" in only
    (computer,) = encryption_warnings(plan_encryption(DN, None, 0x18), "SERVER1$", True)
    assert "computer account" in computer and "Configure encryption types allowed for Kerberos" in computer


def test_state_absent_clears_the_attribute_and_says_what_the_default_means() -> None:
    assert EncryptionTask("cam-svc", state="absent").ciphers() is None
    with pytest.raises(InvalidInput, match=r"encryption_types=\['aes256'\] with state=absent"):
        EncryptionTask("cam-svc", ["aes256"], state="absent").ciphers()
    plan = plan_encryption(DN, 0x20018, None)
    assert plan.changed and plan.after is None
    assert render(DN, plan.after).endswith(
        "not set (absent): the KDC's default applies (DefaultDomainSupportedEncTypes)\n")
    (warning,) = encryption_warnings(plan, "CAMTEST\\cam-svc", is_computer=False)
    assert "KDC's default applies" in warning and "Compound-identity-supported" in warning
    unset = plan_encryption(DN, None, None)
    assert not unset.changed and not encryption_warnings(unset, "CAMTEST\\cam-svc", is_computer=True)
