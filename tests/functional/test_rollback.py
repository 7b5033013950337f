"""The rollback playbook on the lab: the lb_farm role's record, then the way back for the directory.

The role runs on SERVER1 and SERVER2 with a GPO of the test's own, with the change_plan callback writing its record.
The rollback then runs from that record with --check (predicts, writes nothing: the touched accounts' LDIF, the
GPO's SYSVOL files and the OU's gPLink unchanged), then for real (cam-svc's SPNs, the GPO created by the role gone,
the gPLink as before, read with Samba's own tools), then again (nothing changes). A second role run whose SPNs
someone changes by hand before its rollback: that account is refused, with why, and the GPO is still removed.
Real here: Active Directory (Samba), Kerberos, WinRM; simulated: IIS's configuration engine on the nodes, whose
changes this release does not roll back (listed as such).
"""

from __future__ import annotations

import json
import os

import pytest

from harness.ansible import run_playbook, write_playbook
from harness.directory import (add_spns, admin_connection, domain_dn, gplink_of, ldap_connection, ldb_values,
                               remove_spns, set_supported_enctypes, snapshot)
from harness.gpo import gpo_named, gpo_snapshot
from harness.lb_farm import POOL_PASSWORD, callback_env, own_lb_farm

ROLLBACK = os.path.join(os.path.dirname(__file__), "..", "..", "playbooks", "rollback.yml")


_UNCOMPARED = ("replpropertymetadata::",)


def webservers_gplink() -> str:
    conn = ldap_connection()
    try:
        return gplink_of(conn, "OU=WebServers,%s" % domain_dn()) or ""
    finally:
        conn.unbind()


def directory_state(gpo: str) -> dict:
    guids = gpo_named(gpo)
    # replPropertyMetaData counts every write (a rollback is one)
    lines = snapshot("cam-svc", strict=False).splitlines()
    account = "\n".join(line for line in lines if not line.lower().startswith(_UNCOMPARED))
    return {"cam-svc": account, "gplink": webservers_gplink(), "gpos": guids,
            "sysvol": {g: gpo_snapshot("{%s}" % g.strip("{}")) for g in guids}}


@pytest.fixture()
def farm(lab, token, tmp_path):
    """The test's own L4 farm (harness.lb_farm), the connection as a vars file, cam-svc's encryption types kept."""
    with own_lb_farm(lab, token, tmp_path, "rb", 42000, extra_spns=("HTTP/extra-rb-%s" % token,)) as context:
        vars_path, _args = write_playbook(tmp_path, "conn", [])
        vars_path.write_text(json.dumps({"winauth_ad_connection": admin_connection(lab)}))
        os.chmod(vars_path, 0o600)
        context["conn_vars"] = "@%s" % vars_path
        enctypes = ldb_values("(sAMAccountName=cam-svc)", "msDS-SupportedEncryptionTypes")
        set_supported_enctypes("cam-svc", None)     # unset, so the role sets it and the rollback must clear it
        try:
            yield context
        finally:
            set_supported_enctypes("cam-svc", int(enctypes[0]) if enctypes else None)


def role_record(farm: dict, stem: str) -> dict:
    run = run_playbook(str(farm["play"]), "-i", os.environ["LAB_INVENTORY"], "-e",
                       "lb_farm_service_account_password=%s" % POOL_PASSWORD, env=callback_env(farm["plans"], stem))
    assert run.returncode == 0, (run.stdout + run.stderr)[-6000:]
    return json.loads((farm["plans"] / ("%s.record.json" % stem)).read_text(encoding="utf-8"))


def rollback(farm: dict, stem: str, *options: str):
    return run_playbook(ROLLBACK, "-i", os.environ["LAB_INVENTORY"], "-e", farm["conn_vars"], "-e",
                        "rollback_record=%s" % (farm["plans"] / ("%s.record.json" % stem)), "--diff", *options)


def test_rollback_of_the_l4_farm_directory(lab, farm) -> None:
    before = directory_state(farm["gpo"])
    record = role_record(farm, "lb")
    kinds = {e["kind"] for e in record["journal"]["entries"]}
    assert {"spn_account", "kerberos_encryption", "gpo", "gpo_link", "user_right"} <= kinds, kinds
    after_role = directory_state(farm["gpo"])
    assert after_role["gpos"] and after_role["gplink"] != before["gplink"]

    # --check: predicts, writes nothing
    run = rollback(farm, "lb", "--check", "-e", "rollback_on_refusal=report")
    assert run.returncode == 0, (run.stdout + run.stderr)[-6000:]
    assert "changed=1" in run.stdout, run.stdout[-3000:]
    assert "not restored by this release: iis_attribute" in run.stdout + run.stderr
    assert directory_state(farm["gpo"]) == after_role

    # for real: the directory as before the role
    run = rollback(farm, "lb", "-e", "rollback_on_refusal=report")
    assert run.returncode == 0, (run.stdout + run.stderr)[-6000:]
    assert "changed=1" in run.stdout
    refusals = [line for line in (run.stdout + run.stderr).splitlines() if "WARNING" in line and "refused" in line]
    assert not refusals, refusals
    now = directory_state(farm["gpo"])
    # the role set the types of an account that had none: cleared again, the KDC's default applies as before
    assert ldb_values("(sAMAccountName=cam-svc)", "msDS-SupportedEncryptionTypes") == []
    assert now["gpos"] == [] and now["gplink"] == before["gplink"]
    assert now["cam-svc"] == before["cam-svc"]

    # a second rollback changes nothing
    run = rollback(farm, "lb", "-e", "rollback_on_refusal=report")
    assert run.returncode == 0 and "changed=0" in run.stdout, (run.stdout + run.stderr)[-6000:]
    assert directory_state(farm["gpo"]) == now

    # someone adds an SPN to cam-svc after the change: that account is refused with why, the GPO still goes
    role_record(farm, "lb2")
    extra = "HTTP/extra-%s" % farm["name"]
    add_spns("cam-svc", extra)
    try:
        run = rollback(farm, "lb2")
        out = run.stdout + run.stderr
        assert run.returncode != 0, out[-6000:]
        assert "rollback refused 1 item(s), restored the rest" in out and "changed since the run" in out, out[-6000:]
        assert extra.lower() in out
        after = directory_state(farm["gpo"])
        assert after["gpos"] == [] and after["gplink"] == before["gplink"]
    finally:
        remove_spns([extra], "cam-svc")
