"""webfarm.winauth.kerberos_encryption against the lab's real Samba AD DC.

A throwaway service account with an HTTP SPN per test; what the module wrote is read with ldbsearch,
and what it means is asked of the KDC itself: ``kvno`` of the SPN, ``klist -e`` for the ticket's cipher.
"""

from __future__ import annotations

import pytest

from harness.ansible import run_tasks, task
from harness.directory import (
    Kerberos,
    connection_env,
    create_user,
    delete_user,
    ldb_values,
    new_token,
    set_supported_enctypes,
    sid_of,
    snapshot,
)

MODULE = "webfarm.winauth.kerberos_encryption"
AES256, RC4 = "aes256-cts-hmac-sha1-96", "arcfour-hmac"


@pytest.fixture()
def env(lab):
    return connection_env(lab)


@pytest.fixture()
def account(tmp_path):
    """(name, ticket_etype): a service account without the attribute, and the cipher of a fresh ticket for it."""
    token = new_token()
    name, spn = "enc-%s" % token, "HTTP/enc-%s.camtest.local" % token
    create_user(name, "Enc-%s-Pa55!" % token, spns=[spn])
    caches = iter(range(100))

    def ticket_etype() -> str:
        krb = Kerberos.create(tmp_path / ("cc%d" % next(caches)))
        krb.directory.mkdir()
        krb.kinit_admin()
        return krb.ticket_etypes(spn)[1]
    try:
        yield name, ticket_etype
    finally:
        delete_user(name)


def stored(sam: str) -> list[str]:
    return ldb_values("(sAMAccountName=%s)" % sam, "msDS-SupportedEncryptionTypes")


def test_an_rc4_pinned_account_is_set_to_aes_with_check_mode_and_diff_by_flag_name(env, account):
    name, ticket_etype = account
    set_supported_enctypes(name, 4 | 0x20000)      # RC4 only, plus compound identity (kept)
    assert ticket_etype() == RC4
    before = snapshot(name)
    (predicted,) = run_tasks([task(MODULE, {"account": name}, check=True, diff=True)], env)
    assert not predicted.failed and predicted.changed, predicted.msg
    assert snapshot(name) == before                 # check mode wrote nothing
    assert predicted.result["diff"]["before"].endswith(
        "msDS-SupportedEncryptionTypes: 0x20004 (RC4-HMAC, Compound-identity-supported)\n")
    assert predicted.result["diff"]["after"].endswith(
        "msDS-SupportedEncryptionTypes: 0x20018 (AES128-CTS-HMAC-SHA1-96, AES256-CTS-HMAC-SHA1-96, "
        "Compound-identity-supported)\n")
    assert predicted["previous_flags"] == ["RC4-HMAC", "Compound-identity-supported"]
    assert predicted["supported_encryption_types_before"] == 0x20004    # what the journal keeps for the way back
    assert predicted["object_sid"] == sid_of(name)

    applied, again = run_tasks([task(MODULE, {"account": name}, diff=True), task(MODULE, {"account": name})], env)
    assert not applied.failed and applied.changed and not applied.warnings, applied.msg
    assert applied.result["diff"] == predicted.result["diff"]
    assert applied["supported_encryption_types"] == 0x20018 and stored(name) == [str(0x20018)]
    assert not again.failed and not again.changed
    assert ticket_etype() == AES256                 # the KDC now issues AES tickets for it


def test_rc4_only_by_explicit_choice_and_warned_with_the_cve(env, account):
    name, ticket_etype = account
    assert stored(name) == []
    (chosen,) = run_tasks([task(MODULE, {"account": name, "encryption_types": ["aes128", "aes256", "rc4"]},
                                diff=True)], env)
    assert not chosen.failed and chosen.changed, chosen.msg
    assert "not set (absent): the KDC's default applies" in chosen.result["diff"]["before"]
    assert chosen["supported_encryption_types_before"] is None and chosen["previous_flags"] == []
    assert chosen["flags"] == ["RC4-HMAC", "AES128-CTS-HMAC-SHA1-96", "AES256-CTS-HMAC-SHA1-96"]
    assert stored(name) == ["28"]
    (warning,) = chosen.warnings
    assert "allows RC4" in warning and "CVE-2026-20833" in warning and "Kerberoasting" in warning
    (rc4_only,) = run_tasks([task(MODULE, {"account": name, "encryption_types": ["rc4"]})], env)
    assert rc4_only.changed and "allows RC4 and only RC4" in rc4_only.warnings[0]
    assert ticket_etype() == RC4


def test_state_absent_gives_the_account_back_to_the_kdc_default(env, account):
    name, ticket_etype = account
    set_supported_enctypes(name, 4 | 0x20000)      # RC4 pinned, plus compound identity
    assert ticket_etype() == RC4
    before = snapshot(name)
    (predicted,) = run_tasks([task(MODULE, {"account": name, "state": "absent"}, check=True, diff=True)], env)
    assert not predicted.failed and predicted.changed, predicted.msg
    assert snapshot(name) == before                 # check mode wrote nothing
    assert "not set (absent): the KDC's default applies" in predicted.result["diff"]["after"]
    assert predicted["supported_encryption_types"] is None and predicted["supported_encryption_types_before"] == 0x20004
    absent = {"account": name, "state": "absent"}
    cleared, again, mixed = run_tasks([task(MODULE, absent), task(MODULE, absent),
                                       task(MODULE, dict(absent, encryption_types=["aes256"]))], env)
    assert not cleared.failed and cleared.changed and stored(name) == [], cleared.msg
    assert "KDC's default applies" in cleared.warnings[0] and "Compound-identity-supported" in cleared.warnings[0]
    assert not again.failed and not again.changed and not again.warnings
    assert mixed.failed and "state=absent" in mixed.msg and "encryption_types" in mixed.msg
    assert ticket_etype() == AES256                 # the lab's default KDC profile (2026): AES for unset accounts


def test_bad_input_fails_before_any_write_naming_the_parameter(env, account):
    name, _ticket_etype = account
    before = snapshot(name)
    empty, des, nobody = run_tasks([
        task(MODULE, {"account": name, "encryption_types": []}),
        task(MODULE, {"account": name, "encryption_types": ["des"]}),
        task(MODULE, {"account": "nobody-%s" % new_token()}),
    ], env)
    assert empty.failed and "encryption_types=[]" in empty.msg and "aes128" in empty.msg
    assert des.failed and "encryption_types" in des.msg and "des" in des.msg
    assert nobody.failed and "account=nobody-" in nobody.msg and "no such account" in nobody.msg
    assert snapshot(name) == before
