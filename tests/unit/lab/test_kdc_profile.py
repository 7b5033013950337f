"""The lab DC's KDC profile: chosen by LAB_KDC_PROFILE, written into smb.conf, refused when unknown."""

from __future__ import annotations

import pytest

from winauth_lab.dc import LabError, SambaDC, Seed, requested_kdc_profile

SEED = {"realm": "camtest.local", "netbios": "camtest", "dc": {"hostname": "dc1", "address": "127.0.0.10"},
        "admin_password": "x"}


def test_the_default_profile_is_2026_and_an_unknown_one_is_refused(monkeypatch) -> None:
    monkeypatch.delenv("LAB_KDC_PROFILE", raising=False)
    assert requested_kdc_profile() == "2026"
    monkeypatch.setenv("LAB_KDC_PROFILE", "legacy")
    assert requested_kdc_profile() == "legacy"
    monkeypatch.setenv("LAB_KDC_PROFILE", "2019")
    with pytest.raises(LabError, match="LAB_KDC_PROFILE=2019 is not a KDC profile; use one of: 2026, legacy"):
        requested_kdc_profile()


def test_smb_conf_sets_the_kdc_default_only_on_the_2026_profile(tmp_path) -> None:
    dc = SambaDC(tmp_path, Seed(raw=SEED, digest="d"))
    dc.smb_conf.parent.mkdir(parents=True)
    dc.write_smb_conf("2026")
    assert "    kdc default domain supported enctypes = aes128-cts aes256-cts\n" in dc.smb_conf.read_text()
    dc.write_smb_conf("legacy")
    text = dc.smb_conf.read_text()
    assert "kdc default domain supported enctypes" not in text and 'KDC profile "legacy"' in text
    assert dc.running_profile() is None           # not running: no profile, whatever a stale file says
