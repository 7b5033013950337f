"""policy_refresh against a lab node whose domain policy comes from the real lab AD and SYSVOL.

The test has a node of its own (its own computer account in its own OU, its own node process), so
the GPO it links affects no other node of the shared lab. The GPO is made with the collection's own
directory modules (gpo, gpo_user_rights, gpo_link); the node's gpupdate reads the gPLink chain
above its computer account and the GPO's GptTmpl.inf, as a domain member does.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path

import pytest
import yaml

from harness.ansible import run_on_hosts, run_tasks, task
from harness.directory import admin_connection, create_computer_in, create_ou, delete_tree, domain_dn, ldap_connection
from harness.gpo import remove_gpo
from winauth_lab.cli import lab_dir, load_seed
from winauth_lab.dc import SambaDC
from winauth_lab.nodes import NodeFleet, NodeSpec

ADDRESS = "127.0.0.97"


@pytest.fixture()
def policy_node(lab, tmp_path):
    """A node with a computer account in an OU of its own; everything is removed afterwards."""
    tok = uuid.uuid4().hex[:6]
    name = "WAPOL%s" % tok[:5].upper()
    ou = "OU=WinauthPolicy-%s,%s" % (tok, domain_dn())
    fleet = NodeFleet(SambaDC(lab_dir(), load_seed()))
    spec = NodeSpec(name, ADDRESS, lab["LAB_DNS_DOMAIN"], computer_account=False)
    with ldap_connection() as conn:
        create_ou(conn, ou)
        create_computer_in(conn, name, ou)
    config = fleet.prepare(spec, node_dir=tmp_path / name.lower())
    process = fleet.launch(config, None)
    state = {"guid": None}
    try:
        fleet.wait_ready(config, process)
        inventory = tmp_path / "inventory.yml"
        inventory.write_text(yaml.safe_dump({"all": {"hosts": {name: {
            "ansible_host": ADDRESS, "ansible_connection": "winrm", "ansible_port": 5986,
            "ansible_winrm_transport": "ntlm", "ansible_user": "Administrator@%s" % lab["LAB_REALM"],
            "ansible_password": lab["LAB_ADMIN_PASSWORD"], "ansible_winrm_ca_trust_path": lab["LAB_CA_CERT"]}}}}))
        yield {"name": name, "ou": ou, "config": config, "inventory": inventory, "gpo": "winauth-policy-%s" % tok,
               "state": state}
    finally:
        fleet.stop_pids([(process.pid, config.directory / "node.json", config.address)])
        process.wait(timeout=10)
        remove_gpo(state["guid"])
        with ldap_connection() as conn:
            delete_tree(conn, ou)


def refresh(node: dict, tmp_path: Path, tasks: list[dict], *options: str) -> tuple[subprocess.CompletedProcess, list]:
    out, results = run_on_hosts(tmp_path, node["name"], tasks, *options, inventory=node["inventory"])
    assert node["name"] in results, out.stdout[-3000:] + out.stderr[-2000:]
    return out, [results[node["name"]]["r%d" % i] for i in range(len(tasks))]


def log_records(config) -> list[dict]:
    return [json.loads(line) for line in config.log_path.read_text().splitlines() if line.strip()]


def test_gpupdate_applies_the_gpo_linked_above_the_computer_and_require_checks_holders(policy_node, tmp_path) -> None:
    node, name = policy_node, policy_node["name"]
    made = run_tasks([
        task("gpo", {"name": node["gpo"]}),
        task("gpo_user_rights", {"gpo": node["gpo"], "right": "SeBatchLogonRight", "mode": "exact",
                                 "accounts": ["CAMTEST\\user1", "BUILTIN\\Administrators", "BUILTIN\\IIS_IUSRS"]}),
        task("gpo_link", {"gpo": node["gpo"], "target": node["ou"]}),
    ], connection=admin_connection())
    assert all(not r.get("failed") for r in made), made
    node["state"]["guid"] = made[0]["guid"]
    user1_sid = next(h["sid"] for h in made[1]["holders"] if h["name"] and h["name"].lower().endswith("user1"))

    require = {"require": {"SeBatchLogonRight": ["CAMTEST\\user1"]}}
    out, results = refresh(node, tmp_path, [
        {"webfarm.winauth.policy_refresh": require, "check_mode": True},
        {"webfarm.winauth.policy_refresh": require},
        {"webfarm.winauth.policy_refresh": {"refresh": False, "require": {"SeBatchLogonRight": ["cam-svc"]}}},
        {"webfarm.winauth.policy_refresh": {"rights": ["SeBatchLogonRigth"]}},
    ])
    checked, refreshed, missing, typo = results
    # check mode: no gpupdate, the holders before the refresh (local defaults), a warning instead of a failure
    assert checked["changed"] is True and checked["refreshed"] is False and checked["remote_calls"] == 1
    assert checked.get("failed") is not True and checked["missing"] == {"SeBatchLogonRight": ["CAMTEST\\user1"]}
    assert any(w.startswith("check mode, before the refresh: %s: SeBatchLogonRight is not held by CAMTEST\\user1"
                            % name) for w in checked["warnings"])
    # the real run: gpupdate, then the holders the GPO defines (replacing the local ones)
    assert refreshed.get("failed") is not True and refreshed["remote_calls"] == 2, refreshed
    assert refreshed["gpupdate"]["succeeded"] is True and refreshed["missing"] == {}
    assert refreshed["rights"]["SeBatchLogonRight"] == [
        {"sid": user1_sid, "name": "CAMTEST\\user1"}, {"sid": "S-1-5-32-544", "name": "BUILTIN\\Administrators"},
        {"sid": "S-1-5-32-568", "name": "BUILTIN\\IIS_IUSRS"}]
    assert missing["failed"] is True and missing["remote_calls"] == 1 and missing["changed"] is False
    assert missing["msg"].startswith(
        "%s: SeBatchLogonRight is not held by cam-svc (effective holders: CAMTEST\\user1, BUILTIN\\Administrators, "
        "BUILTIN\\IIS_IUSRS). Fix: grant SeBatchLogonRight to cam-svc in a GPO linked to the OU of %s's computer "
        "account" % (name, name))
    assert typo["failed"] is True and typo["remote_calls"] == 0 and "did you mean SeBatchLogonRight?" in typo["msg"]
    records = log_records(node["config"])
    assert [r["script"] for r in records] == ["user_rights", "gpupdate", "user_rights", "user_rights"]
    applied = json.loads((node["config"].directory / "applied_policy.json").read_text())
    names = [h["name"] for h in applied["SeBatchLogonRight"]]
    assert names == ["CAMTEST\\user1", "BUILTIN\\Administrators", "BUILTIN\\IIS_IUSRS"]

    # a disabled link no longer applies: the next refresh brings back the local holders
    relinked = run_tasks([task("gpo_link", {"gpo": node["gpo"], "target": node["ou"], "enabled": False})],
                         connection=admin_connection())
    assert not relinked[0].get("failed"), relinked
    out, results = refresh(node, tmp_path, [{"webfarm.winauth.policy_refresh": require}])
    assert out.returncode != 0 or results[0]["failed"] is True
    assert results[0]["gpupdate"]["succeeded"] is True
    assert [h["name"] for h in results[0]["rights"]["SeBatchLogonRight"]] == [
        "BUILTIN\\Administrators", "BUILTIN\\Backup Operators", "BUILTIN\\Performance Log Users", "BUILTIN\\IIS_IUSRS"]
    assert results[0]["missing"] == {"SeBatchLogonRight": ["CAMTEST\\user1"]}
    assert os.environ["LAB_ADMIN_PASSWORD"] not in out.stdout + out.stderr
