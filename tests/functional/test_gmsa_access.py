"""webfarm.winauth.gmsa_access against the lab's real Samba AD DC.

A throwaway gMSA per test, made over LDAP as Set-ADServiceAccount would leave it (the object and its
msDS-GroupMSAMembership descriptor). Samba 4.17 holds both but cannot derive a gMSA's password, so what is shown
here is the directory side: the module's decision for each node's token, and what it writes, read back raw.
"""

from __future__ import annotations

import ldap3
import pytest
import yaml

from harness.ansible import run_playbook, run_tasks, task, write_playbook
from harness.directory import admin_connection, domain_dn, ldap_connection, raw_value, sid_of
from harness.gmsa import MEMBERSHIP, descriptor, throwaway_gmsa

from ansible_collections.webfarm.winauth.plugins.module_utils._windows.security_descriptor import parse_descriptor

MODULE = "webfarm.winauth.gmsa_access"


@pytest.fixture()
def gmsa():
    """(sam, dn, group sam): a gMSA that only SERVER1$ may use, and an empty group of the test's own."""
    with throwaway_gmsa() as made:
        yield made


def test_verify_names_the_node_that_may_not_retrieve_the_password_and_writes_nothing(gmsa):
    sam, dn, _group, _group_dn = gmsa
    before = raw_value(dn, MEMBERSHIP)
    ok, denied = run_tasks([task(MODULE, {"account": sam, "principals": ["SERVER1$"]}),
                            task(MODULE, {"account": sam, "principals": ["SERVER1$", "SERVER2$"]})],
                           connection=admin_connection())
    assert not ok.failed and not ok.changed and ok["denied"] == [], ok.msg
    assert ok["principals"][0]["allowed"] and ok["principals"][0]["reason"] == "allowed by an ACE for %s" % sid_of(
        "SERVER1$")
    assert denied.failed and denied["denied"] == ["SERVER2$"], denied.result
    assert denied.msg.startswith("SERVER2$ (no ACE of msDS-GroupMSAMembership grants read") and "SERVER1$ (" \
        not in denied.msg.split(" may not ")[0], denied.msg
    assert "mode=add" in denied.msg and sam in denied.msg
    assert raw_value(dn, MEMBERSHIP) == before


def test_add_allows_the_missing_node_with_check_mode_and_diff_then_changes_nothing(gmsa):
    sam, dn, _group, _group_dn = gmsa
    args = {"account": sam, "principals": ["SERVER1$", "SERVER2$"], "mode": "add"}
    before = raw_value(dn, MEMBERSHIP)
    (predicted,) = run_tasks([task(MODULE, args, check=True, diff=True)], connection=admin_connection())
    assert not predicted.failed and predicted.changed, predicted.msg
    assert raw_value(dn, MEMBERSHIP) == before                     # check mode wrote nothing
    assert predicted["denied"] == []
    assert "allow SERVER2$ (%s) (0x000f01ff)" % sid_of("SERVER2$") in predicted.result["diff"]["after"]
    assert "SERVER2$" not in predicted.result["diff"]["before"]
    applied, again, verified = run_tasks([task(MODULE, args, diff=True), task(MODULE, args),
                                          task(MODULE, dict(args, mode="verify"))], connection=admin_connection())
    assert not applied.failed and applied.changed and applied.result["diff"] == predicted.result["diff"], applied.msg
    assert not again.failed and not again.changed
    assert not verified.failed and verified["denied"] == []
    stored = parse_descriptor(raw_value(dn, MEMBERSHIP))
    assert stored.owner == "S-1-5-32-544"
    assert [(a.ace_type, a.mask, a.sid) for a in stored.dacl] == [(0, 0xF01FF, sid_of("SERVER1$")),
                                                                  (0, 0xF01FF, sid_of("SERVER2$"))]


def test_a_node_allowed_through_a_group_passes_and_a_deny_entry_wins_over_an_allow(gmsa):
    sam, dn, group, group_dn = gmsa
    with ldap_connection() as conn:
        conn.search(domain_dn(), "(sAMAccountName=SERVER2$)", attributes=["1.1"])
        server2 = conn.response[0]["dn"]
        assert conn.modify(group_dn, {"member": [(ldap3.MODIFY_ADD, [server2])]}), conn.result
        assert conn.modify(dn, {MEMBERSHIP: [(ldap3.MODIFY_REPLACE, [descriptor(
            (1, sid_of("SERVER1$")), (0, sid_of(group)), (0, "S-1-5-11"))])]}), conn.result
    (result,) = run_tasks([task(MODULE, {"account": sam, "principals": ["SERVER1$", "SERVER2$"]})],
                          connection=admin_connection())
    assert result.failed and result["denied"] == ["SERVER1$"], result.result
    rows = {row["name"]: row for row in result["principals"]}
    assert rows["SERVER2$"]["allowed"] and rows["SERVER2$"]["reason"] == "allowed by an ACE for %s" % sid_of(group)
    assert rows["SERVER1$"]["reason"] == "denied by an ACE for %s" % sid_of("SERVER1$")


def test_bad_input_fails_before_any_directory_traffic_naming_the_parameter():
    results = run_tasks([task(MODULE, {"account": "web-gmsa$", "principals": []}),
                         task(MODULE, {"account": "", "principals": ["SERVER1$"]}),
                         task(MODULE, {"account": "Administrator", "principals": ["SERVER1$"]})],
                        connection=admin_connection())
    assert results[0].failed and results[0].msg.startswith("principals=[] with mode=verify"), results[0].msg
    assert results[1].failed and results[1].msg.startswith("account: an empty account name"), results[1].msg
    assert results[2].failed and "not a group managed service account" in results[2].msg, results[2].msg


def test_lb_farm_with_a_gmsa_stops_before_any_node_when_a_node_may_not_retrieve_its_password(lab, gmsa, tmp_path):
    sam, dn, _group, _group_dn = gmsa
    before = raw_value(dn, MEMBERSHIP)
    inv = tmp_path / "inventory.yml"
    inv.write_text(yaml.safe_dump({"all": {"children": {"lb_nodes": {"hosts": {"SERVER1": {}, "SERVER2": {}}}}}}))
    play, _args = write_playbook(tmp_path, "play", [{
        "name": "farm role", "hosts": "lb_nodes", "gather_facts": False,
        "module_defaults": {"group/webfarm.winauth.ad": admin_connection(lab)},
        "roles": [{"role": "webfarm.winauth.lb_farm", "vars": {
            "lb_farm_virtual_name": "%s.camtest.local" % sam[:-1], "lb_farm_service_account": "CAMTEST\\%s" % sam}}]}])
    run = run_playbook(str(play), "-i", str(inv), "--check")
    out = run.stdout + run.stderr
    assert run.returncode != 0, out[-3000:]
    assert "Check that every node may retrieve the password of CAMTEST\\%s" % sam in out
    assert "SERVER2$ (no ACE of msDS-GroupMSAMembership grants read" in out, out[-3000:]
    assert "Register the farm's HTTP SPNs" not in out     # stopped before any write and before any node
    assert raw_value(dn, MEMBERSHIP) == before


def test_arr_farm_with_a_gmsa_names_each_content_server_that_may_not_retrieve_its_password(lab, gmsa, tmp_path):
    sam, dn, _group, _group_dn = gmsa
    before = raw_value(dn, MEMBERSHIP)
    inv = tmp_path / "inventory.yml"
    inv.write_text(yaml.safe_dump({"all": {"children": {"arr_frontends": {"hosts": {"ARR1": {}}},
                                                        "content_nodes": {"hosts": {"CONTENT1": {}, "CONTENT2": {}}}}}}))
    play, _args = write_playbook(tmp_path, "play", [{
        "name": "farm role", "hosts": "all", "gather_facts": False,
        "module_defaults": {"group/webfarm.winauth.ad": admin_connection(lab)},
        "roles": [{"role": "webfarm.winauth.arr_farm", "vars": {
            "arr_farm_public_name": "%s.camtest.local" % sam[:-1], "arr_farm_identity": "CAMTEST\\%s" % sam,
            "arr_farm_register_content_spns": False}}]}])
    run = run_playbook(str(play), "-i", str(inv), "--check")
    out = run.stdout + run.stderr
    assert run.returncode != 0, out[-3000:]
    assert "Check that every node may retrieve the password of CAMTEST\\%s" % sam in out, out[-3000:]
    assert "CONTENT1$ (no ACE" in out and "CONTENT2$ (no ACE" in out, out[-3000:]
    assert raw_value(dn, MEMBERSHIP) == before
