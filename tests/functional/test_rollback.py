"""The rollback playbook on the lab: the lb_farm role's record, then the way back for the directory and the nodes.

The role runs on SERVER1 and SERVER2 with a GPO of the test's own, with the change_plan callback writing its record.
The rollback then runs from that record with --check (predicts, writes nothing: the touched accounts' LDIF, the
GPO's SYSVOL files and the OU's gPLink unchanged), then for real (cam-svc's SPNs, the GPO created by the role gone,
the gPLink as before, read with Samba's own tools; both nodes' applicationHost.config as before the role, byte for
byte), then again (nothing changes). A second role run whose SPNs and one node's IIS attribute someone changes by
hand before its rollback: that account and that attribute are refused, with why, and the rest (the GPO, the other
node) is still restored.
Real here: Active Directory (Samba), Kerberos, WinRM; simulated: IIS's configuration engine on the nodes (the
lab twin writes the file; on Windows IIS writes it).
"""

from __future__ import annotations

import difflib
import json
import os
import sys

import pytest
import yaml

from harness.ansible import REPO, run_playbook, write_playbook
from harness.directory import (add_spns, admin_connection, domain_dn, gplink_of, ldap_connection, ldb_values,
                               remove_spns, set_supported_enctypes, snapshot)
from harness.gpo import gpo_named, gpo_snapshot
from harness.lb_farm import NODES, POOL_PASSWORD, callback_env, own_lb_farm
from harness.nodes import Node, node_site

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


def node_configs() -> dict[str, bytes]:
    return {name: Node(name).config.read_bytes() for name in NODES}


def recap(out: str) -> dict[str, str]:
    """PLAY RECAP lines by host."""
    return {line.split()[0]: line for line in out.splitlines() if " : ok=" in line}


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
    nodes_before = node_configs()
    record = role_record(farm, "lb")
    kinds = {e["kind"] for e in record["journal"]["entries"]}
    assert {"spn_account", "kerberos_encryption", "gpo", "gpo_link", "user_right"} <= kinds, kinds
    after_role = directory_state(farm["gpo"])
    assert after_role["gpos"] and after_role["gplink"] != before["gplink"]

    node_kinds = {e["kind"] for e in record["journal"]["entries"] if e["plane"] == "node"}
    assert {"iis_attribute", "iis_secret", "iis_runtime", "pool_identity", "policy_refresh"} <= node_kinds, node_kinds
    nodes_after_role = node_configs()
    assert all(nodes_after_role[n] != nodes_before[n] for n in NODES)

    # --check: predicts, writes nothing
    run = rollback(farm, "lb", "--check", "-e", "rollback_on_refusal=report")
    assert run.returncode == 0, (run.stdout + run.stderr)[-6000:]
    assert all("changed=1" in recap(run.stdout)[h] for h in ("localhost",) + NODES), run.stdout[-3000:]
    assert "not restored by this release" not in run.stdout + run.stderr
    assert directory_state(farm["gpo"]) == after_role
    assert node_configs() == nodes_after_role

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
    # the nodes: the site's authentication, the pool's identity and password gone, its <location> too
    assert {n: c.decode() for n, c in node_configs().items()} == {n: c.decode() for n, c in nodes_before.items()}

    # a second rollback changes nothing
    run = rollback(farm, "lb", "-e", "rollback_on_refusal=report")
    assert run.returncode == 0, (run.stdout + run.stderr)[-6000:]
    assert all("changed=0" in line for line in recap(run.stdout).values()), run.stdout[-3000:]
    assert directory_state(farm["gpo"]) == now and node_configs() == nodes_before

    # someone adds an SPN to cam-svc and gives the pool on SERVER1 another user name after the change: that account
    # and that attribute (with the pool identity it is part of) are refused with why; the GPO still goes, SERVER2 and
    # the rest of SERVER1 come back
    role_record(farm, "lb2")
    extra = "HTTP/extra-%s" % farm["name"]
    add_spns("cam-svc", extra)
    Node("SERVER1").apply([{"op": "set", "section": "system.applicationHost/applicationPools", "location": "",
                            "path": [{"name": farm["name"]}, "processModel"], "attribute": "userName",
                            "value": "CAMTEST\\someone-else"}])
    try:
        run = rollback(farm, "lb2")
        out = run.stdout + run.stderr
        assert run.returncode != 0, out[-6000:]
        assert "rollback refused 1 item(s), restored the rest" in out and "changed since the run" in out, out[-6000:]
        assert extra.lower() in out
        assert "rollback refused 2 item(s) on SERVER1, restored the rest" in out, out[-6000:]
        assert "processModel:userName changed since the run: it is now CAMTEST\\someone-else" in out, out[-6000:]
        after = directory_state(farm["gpo"])
        assert after["gpos"] == [] and after["gplink"] == before["gplink"]
        assert node_configs()["SERVER2"] == nodes_before["SERVER2"]
        server1 = Node("SERVER1").text()
        assert 'userName="CAMTEST\\someone-else"' in server1 and "location path=\"%s\"" % farm["name"] not in server1
    finally:
        remove_spns([extra], "cam-svc")


ARR_NODES = ("ARR1", "CONTENT1", "CONTENT2")


@pytest.fixture()
def arr_farm(lab, token, tmp_path):
    """The test's own ARR farm (seed 000: ARR1 in front of CONTENT1 and CONTENT2), the connection as a vars file."""
    name = "rba-%s" % token
    domain = lab["LAB_DNS_DOMAIN"]
    hosts = {"ARR1": "portal-%s.%s" % (name, domain), "CONTENT1": "content1-%s.%s" % (name, domain),
             "CONTENT2": "content2-%s.%s" % (name, domain)}
    gpo, farm_name = "IIS-BatchLogon-%s" % name, "%s-farm" % name
    users = yaml.safe_load((REPO / "tests" / "lab" / "seed.yml").read_text())["users"]
    password = [u["password"] for u in users if u["name"] == "user1"][0]
    for index, node in enumerate(ARR_NODES):
        node_site(node, "add", name, str(23000 + index * 1000 + int(token, 16) % 1000), name, hosts[node])
    play = {"name": "the ARR farm", "hosts": "arr_frontends:content_nodes", "gather_facts": False,
            "module_defaults": {"group/webfarm.winauth.ad": admin_connection(lab)},
            "roles": [{"role": "webfarm.winauth.arr_farm", "vars": {
                "arr_farm_public_name": hosts["ARR1"], "arr_farm_farm_name": farm_name,
                "arr_farm_identity": "%s\\user1" % lab["LAB_NETBIOS"],
                "arr_farm_content_name": "{{ %s[inventory_hostname] }}" % json.dumps(hosts),
                "arr_farm_batch_logon_gpo": gpo, "arr_farm_frontend_site": name, "arr_farm_frontend_app_pool": name,
                "arr_farm_content_site": name, "arr_farm_content_app_pool": name}}]}
    path, secret_args = write_playbook(tmp_path, "arr", [play], {"arr_farm_identity_password": password})
    vars_path, _args = write_playbook(tmp_path, "conn", [])
    vars_path.write_text(json.dumps({"winauth_ad_connection": admin_connection(lab)}))
    context = {"name": name, "plans": tmp_path / "plans", "play": path, "secret_args": secret_args, "gpo": gpo,
               "conn_vars": "@%s" % vars_path, "hosts": hosts}
    try:
        yield context
    finally:
        cleanup, _args = write_playbook(tmp_path, "cleanup", [
            {"name": "front end", "hosts": "arr_frontends", "gather_facts": False,
             "tasks": [{"webfarm.winauth.arr_farm": {"name": farm_name, "state": "absent"}}]},
            {"name": "directory", "hosts": "localhost", "connection": "local", "gather_facts": False,
             "vars": {"ansible_python_interpreter": sys.executable},
             "module_defaults": {"group/webfarm.winauth.ad": admin_connection(lab)},
             "tasks": [{"webfarm.winauth.spn": {"account": "user1", "state": "absent",
                                                "spns": ["HTTP/%s" % h for h in hosts.values()]}},
                       {"webfarm.winauth.gpo": {"name": gpo, "state": "absent"}}]}])
        run_playbook(str(cleanup), "-i", os.environ["LAB_INVENTORY"])
        for node in ARR_NODES:
            node_site(node, "remove", name, name)


def arr_configs() -> dict[str, str]:
    return {name: Node(name).config.read_bytes().decode() for name in ARR_NODES}


def arr_directory() -> dict:
    lines = snapshot("user1", strict=False).splitlines()
    return {"user1": "\n".join(line for line in lines if not line.lower().startswith(_UNCOMPARED)),
            "gplink": webservers_gplink()}


def test_rollback_of_the_arr_farm_puts_the_directory_and_every_node_back(lab, arr_farm) -> None:
    before = arr_configs()
    directory_before = arr_directory()
    run = run_playbook(str(arr_farm["play"]), "-i", os.environ["LAB_INVENTORY"], *arr_farm["secret_args"],
                       env=callback_env(arr_farm["plans"], "arr"))
    assert run.returncode == 0, (run.stdout + run.stderr)[-6000:]
    record = json.loads((arr_farm["plans"] / "arr.record.json").read_text(encoding="utf-8"))
    kinds = {(e["host"], e["kind"]) for e in record["journal"]["entries"] if e["plane"] == "node"}
    assert {("ARR1", "iis_item"), ("ARR1", "iis_collection"), ("CONTENT1", "iis_attribute")} <= kinds, kinds
    after_role = arr_configs()
    assert all(after_role[n] != before[n] for n in ARR_NODES)

    run = rollback(arr_farm, "arr")
    assert run.returncode == 0, (run.stdout + run.stderr)[-6000:]
    assert all("changed=1" in recap(run.stdout)[h] for h in ("localhost",) + ARR_NODES), run.stdout[-3000:]
    # the farm, its servers, the rule and its condition gone, the proxy as it was, both content sites and every pool
    now = arr_configs()
    assert now == before, "".join(difflib.unified_diff(before["ARR1"].splitlines(True), now["ARR1"].splitlines(True)))
    assert gpo_named(arr_farm["gpo"]) == [] and arr_directory() == directory_before   # user1's SPNs, the gPLink

    run = rollback(arr_farm, "arr")
    assert run.returncode == 0, (run.stdout + run.stderr)[-6000:]
    assert all("changed=0" in line for line in recap(run.stdout).values()), run.stdout[-3000:]
