"""The farm roles prove the pool's password on the controller before any node gets it (webfarm.winauth.password_check).

A wrong password in the vault fails the play in the directory step: no node is asked to apply anything,
nothing is written to the directory, and the account's ``badPwdCount`` rises by exactly one (one AS
exchange for the whole farm, not one logon per node).
"""

from __future__ import annotations

import json

import pytest
import yaml

from harness import directory
from harness.ansible import run_playbook, write_playbook
from harness.nodes import node_file

NODES = ("SERVER1", "SERVER2")


def _count(name: str) -> int:
    values = directory.ldb_values("(sAMAccountName=%s)" % name, "badPwdCount")
    return int(values[0]) if values else 0


@pytest.fixture()
def farm_account(token):
    name = "pwf-%s" % token
    directory.create_user(name, "Pwf-R1ght-%s!" % token)
    try:
        with directory.lockout_threshold(name, 5):    # Samba counts failed logons only under a threshold
            yield name
    finally:
        directory.delete_user(name)


def test_a_wrong_pool_password_fails_the_play_on_the_controller_before_any_node(lab, token, farm_account,
                                                                                tmp_path) -> None:
    wrong = "Wrong-Vault-%s!" % token
    inv = tmp_path / "inventory.yml"
    inv.write_text(yaml.safe_dump({"all": {"children": {"lb_nodes": {"hosts": {node: {} for node in NODES}}}}}))
    play, _args = write_playbook(tmp_path, "play", [{
        "name": "farm role", "hosts": "lb_nodes", "gather_facts": False,
        "module_defaults": {"group/webfarm.winauth.ad": directory.admin_connection(lab)},
        "roles": [{"role": "webfarm.winauth.lb_farm", "vars": {
            "lb_farm_virtual_name": "pwf-%s.%s" % (token, lab["LAB_DNS_DOMAIN"]),
            "lb_farm_service_account": "%s\\%s" % (lab["LAB_NETBIOS"], farm_account),
            "lb_farm_service_account_password": wrong}}]}])
    logs = {node: node_file("LAB_NODE_LOGS", node) for node in NODES}
    offsets = {node: path.stat().st_size for node, path in logs.items()}
    before = _count(farm_account)
    run = run_playbook(str(play), "-i", str(inv))
    out = run.stdout + run.stderr
    assert run.returncode != 0
    spelled = "%s\\%s" % (lab["LAB_NETBIOS"], farm_account)
    assert "Prove the pool's password before any node gets it, for %s" % spelled in out, out[-3000:]
    assert ("the password given as account_password is not the password of %s\\%s"
            % (lab["LAB_NETBIOS"], farm_account)) in out
    assert wrong not in out
    assert _count(farm_account) == before + 1
    assert directory.spns_of(farm_account) == []
    for node, path in logs.items():
        with open(path, "rb") as handle:
            handle.seek(offsets[node])
            records = [json.loads(line) for line in handle.read().decode().splitlines() if line.strip()]
        assert [r for r in records if r.get("op") == "apply"] == [], (node, records)
        assert not [r for r in records if r.get("script")], (node, records)   # no node was even read
