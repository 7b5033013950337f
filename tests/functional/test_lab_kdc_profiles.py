"""The lab KDC's two profiles: a DC after the 2026 RC4 switch-off (the default) and one before it (legacy).

Each profile is the KDC's default for accounts without msDS-SupportedEncryptionTypes, measured here with
``kvno`` and ``klist -e``; switching profiles restarts the DC, so these run after every other test.
"""

from __future__ import annotations

import json

import pytest

from conftest import LAB_ENV, lab_command
from harness import directory

pytestmark = pytest.mark.lab_lifecycle
AES256 = "aes256-cts-hmac-sha1-96"
RC4 = "arcfour-hmac"


def _up(monkeypatch, profile: str | None) -> str:
    """``lab up`` with LAB_KDC_PROFILE set to a profile (None: unset, the default)."""
    if profile is None:
        monkeypatch.delitem(LAB_ENV, "LAB_KDC_PROFILE", raising=False)
    else:
        monkeypatch.setitem(LAB_ENV, "LAB_KDC_PROFILE", profile)
    up = lab_command("up", check=False)
    assert up.returncode == 0, up.stdout + up.stderr
    return up.stdout


def _profile() -> tuple[str | None, int]:
    status = json.loads(lab_command("status", check=False).stdout)["dc"]
    return status["kdc_profile"], status["pid"]


@pytest.fixture()
def service(token, tmp_path):
    """A user with an HTTP SPN and no msDS-SupportedEncryptionTypes; a function that kvno's it afresh."""
    name, spn = "kdc-%s" % token, "HTTP/kdc-%s.%s" % (token, directory.lab("LAB_DNS_DOMAIN"))
    directory.create_user(name, "Kdc-Pr0file-%s!" % token, spns=[spn])
    caches = iter(range(100))

    def etypes() -> tuple[str, str]:
        kerberos = directory.Kerberos.create(tmp_path / ("cache%d" % next(caches)))
        kerberos.directory.mkdir()
        kerberos.kinit_admin()
        return kerberos.ticket_etypes(spn)
    yield name, etypes
    directory.delete_user(name)


@pytest.fixture()
def back_to_default(monkeypatch):
    yield
    _up(monkeypatch, None)


def test_the_default_profile_issues_aes_tickets_for_accounts_without_enctypes(monkeypatch, service) -> None:
    _up(monkeypatch, None)
    assert _profile()[0] == "2026"
    _name, etypes = service
    assert etypes() == (AES256, AES256)


def test_an_account_pinned_to_rc4_gets_rc4_tickets_on_the_default_profile(monkeypatch, service) -> None:
    _up(monkeypatch, None)
    name, etypes = service
    directory.set_supported_enctypes(name, 4)
    assert etypes()[1] == RC4
    directory.set_supported_enctypes(name, None)
    assert etypes()[1] == AES256


def test_the_legacy_profile_issues_rc4_tickets_and_switching_restarts_the_dc(
        monkeypatch, service, back_to_default) -> None:
    _up(monkeypatch, None)
    _profile_before, pid_before = _profile()
    out = _up(monkeypatch, "legacy")
    profile, pid = _profile()
    assert profile == "legacy" and pid != pid_before and "KDC profile 2026 -> legacy (DC restarted)" in out
    name, etypes = service
    assert etypes() == (AES256, RC4)          # an RC4 ticket, an AES session key: the pre-2026 default
    directory.set_supported_enctypes(name, 24)
    assert etypes() == (AES256, AES256)       # the account's own attribute wins on this profile too
    directory.set_supported_enctypes(name, None)
    assert "nothing to do" in _up(monkeypatch, "legacy")
    _up(monkeypatch, None)
    assert _profile()[0] == "2026" and etypes() == (AES256, AES256)


def test_an_unknown_profile_is_refused_before_anything_changes(monkeypatch) -> None:
    monkeypatch.setitem(LAB_ENV, "LAB_KDC_PROFILE", "2019")
    up = lab_command("up", check=False)
    assert up.returncode == 2 and "LAB_KDC_PROFILE=2019 is not a KDC profile; use one of: 2026, legacy" in up.stderr
