"""The farm roles against the lab: refusals before any write, and the hostname trap of seed 000, broken and fixed.

The molecule scenarios (test_molecule.py) cover the roles' normal path. Here: the arr_farm role
sees seed 000's ``HTTP/<content server fqdn>`` before writing it, stops with the exact inventory
change, and, once that change is made, converges and keeps its Kerberos connection, while the
unchanged inventory is locked out - the break the role prevented. The account, the site and pool,
and the ARR farm are the test's own, named after a token, and removed at the end.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from harness.ansible import REPO, run_playbook, write_playbook
from harness.directory import admin_connection, samba_tool, spns_of
from harness.nodes import node_site

SETTINGS = REPO / "extensions" / "molecule" / "shared" / "files" / "iis_settings.py"


def lab_dir() -> Path:
    return Path(os.environ["LAB_DIR"])


def settings(node: str, site: str, pool: str) -> dict:
    out = subprocess.run([sys.executable, str(SETTINGS), str(lab_dir() / "nodes" / node.lower() / "applicationHost.config"),
                          site, pool], check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def inventory(path: Path, lab: dict[str, str], content2: dict) -> Path:
    common = {"ansible_connection": "winrm", "ansible_port": 5986, "ansible_winrm_transport": "ntlm",
              "ansible_user": "Administrator@%s" % lab["LAB_REALM"], "ansible_password": lab["LAB_ADMIN_PASSWORD"],
              "ansible_winrm_ca_trust_path": lab["LAB_CA_CERT"], "ansible_winrm_kinit_env_vars": ["KRB5_CONFIG"]}
    data = {"all": {"children": {"windows": {"vars": common, "children": {
        "arr_frontends": {"hosts": {"ARR1": {"ansible_host": "arr1.%s" % lab["LAB_DNS_DOMAIN"]}}},
        "content_nodes": {"hosts": {"CONTENT2": dict({"ansible_host": "content2.%s" % lab["LAB_DNS_DOMAIN"]},
                                                     **content2)}}}}}}}
    path.write_text(yaml.safe_dump(data))
    return path


def role_play(tmp: Path, lab: dict[str, str], role: str, hosts: str, role_vars: dict, name: str = "play") -> Path:
    path, _args = write_playbook(tmp, name, [{
        "name": "farm role", "hosts": hosts, "gather_facts": False,
        "module_defaults": {"group/webfarm.winauth.ad": admin_connection(lab)},
        "roles": [{"role": "webfarm.winauth.%s" % role, "vars": role_vars}]}])
    return path


def recap(output: str) -> dict[str, dict[str, int]]:
    found = {}
    for host, counts in re.findall(r"^(\S+)\s+:\s+(ok=.*)$", output, re.M):
        found[host] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", counts)}
    return found


@pytest.fixture()
def trap(lab, token, tmp_path):
    """An application pool identity, a site and pool on ARR1 and CONTENT2, all of the test's own."""
    name = "trp-%s" % token
    account = {"name": "arrtrap-%s" % token, "password": "Trap-%s-Pa55!" % token}
    samba_tool("user", "create", account["name"], account["password"], database=True)
    proxy_before = settings("ARR1", name, name)["proxy"].get("enabled")
    for node, host in (("ARR1", "portal-%s.%s" % (name, lab["LAB_DNS_DOMAIN"])), ("CONTENT2", "content2.camtest.local")):
        node_site(node, "add", name, str(30000 + int(token, 16) % 10000), name, host)
    context = {"name": name, "account": account, "tmp": tmp_path,
               "vars": {"arr_farm_public_name": "portal-%s.%s" % (name, lab["LAB_DNS_DOMAIN"]),
                        "arr_farm_identity": "%s\\%s" % (lab["LAB_NETBIOS"], account["name"]),
                        "arr_farm_identity_password": account["password"], "arr_farm_frontend_identity": False,
                        "arr_farm_batch_logon_gpo": "", "arr_farm_policy_refresh": False,
                        "arr_farm_require_batch_logon": False, "arr_farm_frontend_site": name,
                        "arr_farm_frontend_app_pool": name, "arr_farm_content_site": name,
                        "arr_farm_content_app_pool": name}}
    try:
        yield context
    finally:
        samba_tool("user", "delete", account["name"], check=False, database=True)   # its SPNs go with it
        inv = inventory(tmp_path / "cleanup-inventory.yml", lab, {})
        cleanup = tmp_path / "cleanup.yml"
        cleanup.write_text(yaml.safe_dump([{"name": "remove the farm", "hosts": "ARR1", "gather_facts": False,
                                            "tasks": [{"webfarm.winauth.arr_farm": {
                                                "name": "portal-%s-farm" % name, "state": "absent"}}]}]))
        run_playbook(str(cleanup), "-i", str(inv))
        node_site("ARR1", "proxy", proxy_before or "unset")
        for node in ("ARR1", "CONTENT2"):
            node_site(node, "remove", name, name)


def test_arr_farm_stops_before_the_hostname_trap_and_the_printed_fix_works(lab, trap) -> None:
    tmp, name, account = trap["tmp"], trap["name"], trap["account"]
    plain = inventory(tmp / "plain.yml", lab, {"ansible_winrm_transport": "kerberos"})
    before = settings("CONTENT2", name, name)

    # 1. Seed 000 taken literally: HTTP/<content server fqdn>, the server's own name. Stopped before any write.
    run = run_playbook(str(role_play(tmp, lab, "arr_farm", "all", trap["vars"])), "-i", str(plain))
    out = run.stdout + run.stderr
    assert run.returncode != 0
    assert "The hostname trap - HTTP/content2.camtest.local (the own name of computer CONTENT2$)" in out, out[-4000:]
    assert "CONTENT2: {ansible_winrm_service: HOST}" in out
    assert spns_of(account["name"]) == [] and settings("CONTENT2", name, name) == before

    # 2. Allowed on purpose, but CONTENT2 is reached with Kerberos for that very SPN: still stopped, with the change.
    allowed = dict(trap["vars"], arr_farm_allow_node_name_spns=True)
    run = run_playbook(str(role_play(tmp, lab, "arr_farm", "all", allowed)), "-i", str(plain))
    out = run.stdout + run.stderr
    assert run.returncode != 0
    assert "CONTENT2 is reached with Kerberos for HTTP/content2.camtest.local" in out, out[-4000:]
    assert "UNREACHABLE from the next task on" in out and "CONTENT2: {ansible_winrm_service: HOST}" in out
    assert spns_of(account["name"]) == [] and settings("CONTENT2", name, name) == before

    # 3. The printed inventory change: WinRM asks for HOST/content2..., which stays on CONTENT2$.
    fixed = inventory(tmp / "fixed.yml", lab, {"ansible_winrm_transport": "kerberos", "ansible_winrm_service": "HOST"})
    run = run_playbook(str(role_play(tmp, lab, "arr_farm", "all", allowed)), "-i", str(fixed), "-v")
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-6000:]
    assert account["password"] not in out
    assert sorted(s.lower() for s in spns_of(account["name"])) == sorted(
        ["http/content2.camtest.local", "http/portal-%s.camtest.local" % name])
    after = settings("CONTENT2", name, name)["location"]["windowsAuthentication"]
    assert after["enabled"] == "true" and after["useAppPoolCredentials"] == "true"
    # ... and the next run still reaches CONTENT2 with Kerberos, now that HTTP/content2 belongs to the account.
    run = run_playbook(str(role_play(tmp, lab, "arr_farm", "all", allowed)), "-i", str(fixed))
    assert run.returncode == 0, (run.stdout + run.stderr)[-6000:]
    assert recap(run.stdout)["CONTENT2"]["changed"] == 0 and recap(run.stdout)["CONTENT2"]["unreachable"] == 0

    # 4. The break the role prevented: the unchanged inventory can no longer log on to CONTENT2.
    raw = tmp / "raw.yml"
    raw.write_text(yaml.safe_dump([{"name": "reach CONTENT2", "hosts": "CONTENT2", "gather_facts": False,
                                    "tasks": [{"ansible.builtin.raw": "hostname"}]}]))
    run = run_playbook(str(raw), "-i", str(plain))
    out = run.stdout + run.stderr
    assert recap(run.stdout)["CONTENT2"]["unreachable"] == 1, out[-3000:]
    assert "credentials were rejected" in out


def test_lb_farm_refuses_a_virtual_name_that_is_a_node_name(lab, tmp_path) -> None:
    inv = tmp_path / "inventory.yml"
    inv.write_text(yaml.safe_dump({"all": {"children": {"lb_nodes": {"hosts": {"SERVER1": {}, "SERVER2": {}}}}}}))
    play = role_play(tmp_path, lab, "lb_farm", "lb_nodes", {
        "lb_farm_virtual_name": "server1.%s" % lab["LAB_DNS_DOMAIN"], "lb_farm_service_account": "CAMTEST\\cam-svc",
        "lb_farm_service_account_password": "not-used"})
    before = spns_of("cam-svc")
    run = run_playbook(str(play), "-i", str(inv))
    out = run.stdout + run.stderr
    assert run.returncode != 0
    assert "The hostname trap - server1.camtest.local is the own name of computer SERVER1$" in out, out[-3000:]
    assert "Nothing was written" in out
    assert "not-used" not in out
    assert spns_of("cam-svc") == before


@pytest.mark.parametrize("role_vars, message", [
    ({"lb_farm_service_account": "CAMTEST\\cam-svc", "lb_farm_service_account_password": "x"},
     "missing required arguments: lb_farm_virtual_name"),
    ({"lb_farm_virtual_name": "sso.camtest.local", "lb_farm_service_account": "CAMTEST\\cam-svc"},
     "lb_farm_service_account_password for a user account"),
    ({"lb_farm_virtual_name": "sso", "lb_farm_service_account": "CAMTEST\\cam-svc",
      "lb_farm_service_account_password": "x"}, "lb_farm_virtual_name as a fully qualified name"),
    ({"lb_farm_virtual_name": "sso.camtest.local", "lb_farm_service_account": "CAMTEST\\cam-svc",
      "lb_farm_service_account_password": "x", "lb_farm_spn_on_conflict": "steal"},
     "lb_farm_spn_on_conflict must be one of"),
    ({"lb_farm_virtual_name": "sso.camtest.local", "lb_farm_service_account": "CAMTEST\\web-gmsa$",
      "lb_farm_service_account_password": "x"}, "but none for a gMSA"),
])
def test_lb_farm_inputs_are_checked_before_anything_runs(lab, tmp_path, role_vars, message) -> None:
    inv = tmp_path / "inventory.yml"
    inv.write_text(yaml.safe_dump({"all": {"children": {"lb_nodes": {"hosts": {"SERVER1": {}}}}}}))
    run = run_playbook(str(role_play(tmp_path, lab, "lb_farm", "lb_nodes", role_vars)), "-i", str(inv))
    out = run.stdout + run.stderr
    assert run.returncode != 0 and message in out, out[-3000:]
    assert "SERVER1 -> localhost" not in out   # no directory task ran


def test_arr_farm_needs_both_groups(lab, tmp_path) -> None:
    inv = tmp_path / "inventory.yml"
    inv.write_text(yaml.safe_dump({"all": {"children": {"arr_frontends": {"hosts": {"ARR1": {}}}}}}))
    run = run_playbook(str(role_play(tmp_path, lab, "arr_farm", "all", {
        "arr_farm_public_name": "portal.camtest.local", "arr_farm_identity": "CAMTEST\\user1",
        "arr_farm_identity_password": "x"})), "-i", str(inv))
    out = run.stdout + run.stderr
    assert run.returncode != 0 and "arr_farm_content_nodes ('content_nodes': none)" in out, out[-3000:]


@pytest.mark.parametrize("role_vars, message", [
    ({"arr_farm_identity": "CAMTEST\\user1", "arr_farm_identity_password": "x"},
     "missing required arguments: arr_farm_public_name"),
    ({"arr_farm_public_name": "portal.camtest.local"}, "in kerberos mode arr_farm_identity"),
    ({"arr_farm_public_name": "portal.camtest.local", "arr_farm_mode": "basic"}, "arr_farm_mode must be one of"),
])
def test_arr_farm_inputs_are_checked_before_anything_runs(lab, tmp_path, role_vars, message) -> None:
    inv = tmp_path / "inventory.yml"
    inv.write_text(yaml.safe_dump({"all": {"children": {"arr_frontends": {"hosts": {"ARR1": {}}},
                                                        "content_nodes": {"hosts": {"CONTENT1": {}}}}}}))
    run = run_playbook(str(role_play(tmp_path, lab, "arr_farm", "all", role_vars)), "-i", str(inv))
    out = run.stdout + run.stderr
    assert run.returncode != 0 and message in out, out[-3000:]
    assert "-> localhost" not in out
