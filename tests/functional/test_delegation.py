"""webfarm.winauth.delegation against the lab's real Samba AD DC.

A throwaway front-end service account (the farm's pool identity, with an HTTP SPN)
and a throwaway back-end computer (with its own HTTP SPN) per test. The DC's view is
read with ldbsearch and samba-tool; the KDC proves what constrained delegation and
protocol transition allow, with real S4U2Self and S4U2Proxy requests (kvno -U -P).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest

from harness.ansible import run_tasks, task
from harness.directory import (
    Kerberos,
    connection_env,
    create_computer,
    create_user,
    delete_computer,
    delete_user,
    dn_of,
    ldb_values,
    new_token,
    raw_value,
    samba_tool,
    sid_of,
    snapshot,
)

DELEGATION = "webfarm.winauth.delegation"
TRUSTED_FOR_DELEGATION = 0x80000
TRUSTED_TO_AUTH_FOR_DELEGATION = 0x1000000
WEBOPS = ("webops@camtest.local", "WebOps-Pa55!")


@dataclass
class Pair:
    front: str
    front_password: str
    front_spn: str
    back: str
    back_spn: str


@pytest.fixture()
def pair():
    token = new_token()
    front, back = "front-%s" % token, "BACK%s" % token[:6].upper()
    password = "Front-%s-Pa55!" % token
    try:
        create_user(front, password, spns=["HTTP/front-%s.camtest.local" % token])
        create_computer(back, "Back-%s-Pa55!" % token, spns=["HTTP/back-%s.camtest.local" % token])
        yield Pair(front, password, "HTTP/front-%s.camtest.local" % token, back, "HTTP/back-%s.camtest.local" % token)
    finally:
        delete_user(front)
        delete_computer(back)


@pytest.fixture()
def env(lab):
    return connection_env(lab)


def uac(sam: str) -> int:
    return int(ldb_values("(sAMAccountName=%s)" % sam, "userAccountControl")[0])


def delegate_to(sam: str) -> list[str]:
    return ldb_values("(sAMAccountName=%s)" % sam, "msDS-AllowedToDelegateTo")


def s4u(pair: Pair, directory) -> tuple[int, str]:
    """The front end asks for a ticket to the back end as alice, who never logged on with Kerberos to it."""
    directory.mkdir()
    krb = Kerberos.create(directory)
    krb.kinit(pair.front, pair.front_password, forwardable=True)
    proc = krb.kvno("-U", "alice", "-P", pair.back_spn)
    return proc.returncode, proc.stdout + proc.stderr


def test_constrained_delegation_with_and_without_protocol_transition(env, pair, tmp_path):
    args = {"account": pair.front, "allowed_to_delegate_to": [pair.back_spn], "protocol_transition": True}
    assert s4u(pair, tmp_path / "none")[0] != 0  # no delegation yet: the KDC refuses
    before_uac = uac(pair.front)
    before = snapshot(pair.front, strict=False)  # the kinit above logged on: leave logon attributes out
    (predicted,) = run_tasks([task(DELEGATION, args, check=True, diff=True)], env)
    assert not predicted.failed and predicted.changed, predicted.msg
    assert snapshot(pair.front, strict=False) == before  # check mode wrote nothing
    assert predicted["allowed_to_delegate_to"] == [pair.back_spn] and predicted["protocol_transition"]
    assert "protocol_transition: false" in predicted.result["diff"]["before"]
    assert "    - %s\n  protocol_transition: true" % pair.back_spn in predicted.result["diff"]["after"]

    applied, again = run_tasks([task(DELEGATION, args, diff=True), task(DELEGATION, args)], env)
    assert not applied.failed and applied.changed, applied.msg
    for key in ("allowed_to_delegate_to", "protocol_transition", "unconstrained", "user_account_control", "diff"):
        assert applied.result[key] == predicted.result[key], key
    assert not again.changed
    assert delegate_to(pair.front) == [pair.back_spn]
    assert uac(pair.front) == before_uac | TRUSTED_TO_AUTH_FOR_DELEGATION == applied["user_account_control"]
    ok, text = s4u(pair, tmp_path / "with-protocol-transition")
    assert ok == 0, text

    (kerberos_only,) = run_tasks([task(DELEGATION, dict(args, protocol_transition=False))], env)
    assert kerberos_only.changed and not kerberos_only["protocol_transition"]
    assert uac(pair.front) == before_uac
    assert delegate_to(pair.front) == [pair.back_spn]
    refused, text = s4u(pair, tmp_path / "kerberos-only")
    assert refused != 0 and "constrained delegation failed" in text, text


def test_resource_based_delegation_read_planned_and_refused_by_samba(env, pair, lab):
    """RBCD as samba-tool writes it: read, compared, planned exactly; the write itself Samba refuses over LDAP."""
    from ansible_collections.webfarm.winauth.plugins.module_utils._directory.delegation_rules import (  # noqa: E402
        rbcd_descriptor,
    )

    samba_tool("delegation", "add-principal", pair.back + "$", pair.front, database=True)
    back_dn, front_dn, server1_dn = dn_of(pair.back + "$"), dn_of(pair.front), dn_of("SERVER1$")
    front_sid = sid_of(pair.front)
    assert raw_value(back_dn, "msDS-AllowedToActOnBehalfOfOtherIdentity") == \
        rbcd_descriptor([front_sid]).encode()  # byte for byte what Samba's own tool writes

    before = snapshot(pair.back + "$")
    present, exact, would_remove, would_add, refused = run_tasks([
        task(DELEGATION, {"account": pair.back, "rbcd_principals": [pair.front]}),
        task(DELEGATION, {"account": pair.back + "$", "rbcd_principals": ["CAMTEST\\" + pair.front], "state": "exact"}),
        task(DELEGATION, {"account": back_dn, "rbcd_principals": [pair.front], "state": "absent"}, check=True,
             diff=True),
        task(DELEGATION, {"account": pair.back, "rbcd_principals": ["SERVER1"]}, check=True, diff=True),
        task(DELEGATION, {"account": pair.back, "rbcd_principals": [pair.front], "state": "absent"}),
    ], env)
    for result in (present, exact):
        assert not result.failed and not result.changed, result.msg
        assert result["rbcd_principals"] == [{"sid": front_sid, "name": pair.front, "dn": front_dn}]
    assert would_remove.changed and would_remove["rbcd_principals"] == []
    assert "    - %s (%s)" % (pair.front, front_sid) in would_remove.result["diff"]["before"]
    assert "rbcd_principals: []" in would_remove.result["diff"]["after"]
    assert [p["dn"] for p in would_add["rbcd_principals"]] == [front_dn, server1_dn]

    assert refused.failed
    assert "refused to write msDS-AllowedToActOnBehalfOfOtherIdentity on %s" % back_dn in refused.msg
    assert "Nothing was written" in refused.msg and "samba-tool delegation" in refused.msg
    assert snapshot(pair.back + "$") == before
    assert "msDS-AllowedToActOnBehalfOfOtherIdentity: %s" % front_dn in \
        samba_tool("delegation", "show", pair.back + "$", database=True).stdout


def test_unconstrained_needs_opt_in_and_is_warned_and_refusals(env, pair):
    offline = {"account": pair.front, "server": "unreachable.invalid"}  # refused before connecting, or it would fail
    before_uac = uac(pair.front)
    other = "MSSQLSvc/sql-%s.camtest.local:1433" % pair.front
    no_opt_in, bad_spn, bad_principal, nothing, opted_in, again, no_rights, added, exact, cleared = run_tasks([
        task(DELEGATION, dict(offline, unconstrained=True)),
        task(DELEGATION, dict(offline, allowed_to_delegate_to=["HTTP//back"])),
        task(DELEGATION, dict(offline, rbcd_principals=[""])),
        task(DELEGATION, offline),
        task(DELEGATION, {"account": pair.front, "unconstrained": True, "allow_unconstrained": True}, diff=True),
        task(DELEGATION, {"account": pair.front, "unconstrained": True, "allow_unconstrained": True}),
        task(DELEGATION, {"account": pair.front, "allowed_to_delegate_to": [pair.back_spn],
                          "username": WEBOPS[0], "password": WEBOPS[1]}),
        task(DELEGATION, {"account": pair.front, "allowed_to_delegate_to": [pair.back_spn]}),
        task(DELEGATION, {"account": pair.front, "allowed_to_delegate_to": [other], "state": "exact"}, diff=True),
        task(DELEGATION, {"account": pair.front, "allowed_to_delegate_to": [other.upper()], "state": "absent"}),
    ], env)
    assert no_opt_in.failed and "unconstrained=true is refused without allow_unconstrained=true" in no_opt_in.msg
    assert bad_spn.failed and "allowed_to_delegate_to: 'HTTP//back' contains a double slash" in bad_spn.msg
    assert bad_principal.failed and "rbcd_principals: an empty account name" in bad_principal.msg
    assert nothing.failed and "nothing to manage" in nothing.msg

    assert opted_in.changed and opted_in["unconstrained"]
    assert "unconstrained: false" in opted_in.result["diff"]["before"]
    assert "unconstrained: true" in opted_in.result["diff"]["after"]
    for result in (opted_in, again):
        assert any("trusted for unconstrained delegation" in w for w in result.warnings), result.warnings
    assert not again.changed
    assert uac(pair.front) == before_uac | TRUSTED_FOR_DELEGATION
    assert no_rights.failed
    assert "cannot write msDS-AllowedToDelegateTo on %s" % dn_of(pair.front) in no_rights.msg
    assert "webops@camtest.local has no right" in no_rights.msg and "SeEnableDelegationPrivilege" in no_rights.msg
    assert added.changed and added["allowed_to_delegate_to"] == [pair.back_spn]
    assert exact["allowed_to_delegate_to"] == [other]  # exact: the back end's SPN went, the new one came
    assert "    - %s\n" % pair.back_spn in exact.result["diff"]["before"]
    assert pair.back_spn not in exact.result["diff"]["after"]
    assert any("no account of the forest holds %s" % other in w for w in exact.warnings)
    assert cleared.changed and cleared["allowed_to_delegate_to"] == []  # absent, compared case-insensitively
    assert delegate_to(pair.front) == []

    (unset,) = run_tasks([task(DELEGATION, {"account": pair.front, "unconstrained": False})], env)
    assert unset.changed and not unset["unconstrained"] and unset.warnings == []
    assert uac(pair.front) == before_uac
    assert os.environ["LAB_ADMIN_PASSWORD"] not in unset.output


ACCOUNTDISABLE = 0x2


def test_an_account_disabled_between_the_read_and_the_write_stays_disabled(pair, monkeypatch):
    """Finding: userAccountControl was written with replace from the earlier read, re-enabling an account that
    an administrator disabled meanwhile. Written as delete-old + add-new, the DC refuses the stale write; the
    module reads again and adds its flag to what the account holds now."""
    from ansible_collections.webfarm.winauth.plugins.module_utils._directory import delegation
    from ansible_collections.webfarm.winauth.plugins.module_utils._directory.connection import connect
    from ansible_collections.webfarm.winauth.plugins.module_utils._directory.operations import Directory
    from ansible_collections.webfarm.winauth.plugins.module_utils._directory.options import ConnectionOptions
    from harness.directory import admin_connection, ldb_modify

    real_modify = Directory.modify
    meanwhile = []

    def modify(conn, dn, changes):
        if not meanwhile and dn == dn_of(pair.front):  # an administrator disables the account, just now
            meanwhile.append(uac(pair.front))
            ldb_modify("dn: %s\nchangetype: modify\nreplace: userAccountControl\nuserAccountControl: %d\n"
                       % (dn, uac(pair.front) | ACCOUNTDISABLE))
        return real_modify(conn, dn, changes)

    monkeypatch.setattr(Directory, "modify", modify)
    task_options = delegation.DelegationTask(account=pair.front, allowed_to_delegate_to=[pair.back_spn],
                                             protocol_transition=True)
    with connect(ConnectionOptions(**admin_connection())) as conn:
        outcome = delegation.ensure_delegation(conn, task_options, task_options.request(), False)
    assert meanwhile and outcome.changed
    after = uac(pair.front)
    assert after & ACCOUNTDISABLE, "the account disabled meanwhile was enabled again"
    assert after & TRUSTED_TO_AUTH_FOR_DELEGATION and delegate_to(pair.front) == [pair.back_spn]
