"""The lab's ways in (lab_connection, lab_transport) and the checks every one of them must pass.

One inventory ($LAB_INVENTORY) serves every connection: ``-e lab_connection=... -e lab_transport=...``
picks it. The round trip and the lb_farm role run through Ansible's own connection plugins of the
ansible-core release whose bin directory is given (the test venv's, or one of build/ansible-2.1x),
against the lab's SERVER1 and SERVER2, on a site and pool of the test's own. Evidence: the modules'
results, the nodes' applicationHost.config bytes and the node logs (one record per remote call, with
the protocol, listener, authentication and whether the message arrived encrypted).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import yaml

from .ansible import REPO, VENV_BIN, ansible_env
from .nodes import NodeLog, node_site

NODES = ("SERVER1", "SERVER2")
# connection -> (node log protocol, listener, encrypted on the wire by the message layer)
EXPECTED = {"winrm_https": ("winrs", "https", False), "winrm_http": ("winrs", "http", True),
            "psrp_https": ("psrp", "https", False), "psrp_http": ("psrp", "http", True),
            "ssh": ("ssh", "ssh", True)}
# transport -> the node log's auth
AUTH = {"kerberos": "kerberos", "ntlm": "ntlm", "key": "publickey", "gssapi": "gssapi-with-mic"}
# powershell.exe processes per call: WinRS starts one; a runspace none; sshd's DefaultShell PowerShell one more
PROCESSES = {"winrs": 1, "psrp": 0, "ssh": 2}


def release_bin(release: str | None) -> Path:
    """The bin directory of an ansible-core release's venv (None: the test venv's, 2.19)."""
    return VENV_BIN if release is None else REPO / "build" / ("ansible-%s" % release) / "bin"


def node_dir(node: str) -> Path:
    return Path(os.environ["LAB_DIR"]) / "nodes" / node.lower()


def connection_env(tmp: Path, lab: dict[str, str], transport: str) -> dict[str, str]:
    """The environment of a run: its own Kerberos ticket cache; a ticket first for ssh with GSSAPI."""
    cache = tmp / ("krb5cc-%s" % uuid.uuid4().hex[:6])
    env = {"KRB5CCNAME": "FILE:%s" % cache, "ANSIBLE_SSH_CONTROL_PATH_DIR": str(tmp / "cp")}
    if transport == "gssapi":
        subprocess.run(["kinit", "Administrator@%s" % lab["LAB_REALM"]], input=lab["LAB_ADMIN_PASSWORD"] + "\n",
                       text=True, check=True, capture_output=True, env=dict(os.environ, **env))
    return env


def play(bin_dir: Path, tmp: Path, hosts: str, body: dict, connection: str, transport: str, env: dict[str, str],
         *options: str) -> tuple[subprocess.CompletedProcess, dict[str, dict]]:
    """Run one play (tasks or roles) from the lab inventory; return the process and each host's registered results."""
    out_dir = tmp / ("results-%s" % uuid.uuid4().hex[:6])
    out_dir.mkdir()
    play_body = dict(body)
    tasks = [dict(task) for task in play_body.pop("tasks", [])]
    names = []
    for index, task in enumerate(tasks):
        task.setdefault("register", "r%d" % index)
        task.setdefault("ignore_errors", True)
        names.append(task["register"])
    if names:
        tasks.append({"ansible.builtin.copy": {
            "dest": "%s/{{ inventory_hostname }}.json" % out_dir,
            "content": "{{ %s | to_json }}" % ("{" + ", ".join("'%s': %s" % (n, n) for n in names) + "}")},
            "delegate_to": "localhost", "check_mode": False, "diff": False})
        play_body["tasks"] = tasks
    playbook = out_dir / "play.yml"
    playbook.write_text(yaml.safe_dump([dict({"hosts": hosts, "gather_facts": False}, **play_body)]))
    argv = [str(bin_dir / "ansible-playbook"), "-i", os.environ["LAB_INVENTORY"], str(playbook),
            "-e", "lab_connection=%s" % connection, "-e", "lab_transport=%s" % transport, *options]
    out = subprocess.run(argv, capture_output=True, text=True, env=ansible_env(env), timeout=600, check=False,
                         cwd=str(REPO))
    results = {path.stem: json.loads(path.read_text()) for path in out_dir.glob("*.json")}
    return out, results


def check_records(records: list[dict], connection: str, transport: str, calls: int) -> None:
    """One record per remote call, each through the expected protocol, listener and authentication."""
    protocol, listener, encrypted = EXPECTED[connection]
    assert len(records) == calls, records
    for record in records:
        assert (record["protocol"], record["listener"], record["auth"]) == (protocol, listener, AUTH[transport]), record
        assert record["encrypted"] is encrypted and record["processes"] == PROCESSES[protocol], record
        assert record["script"] == "iis_config" and record["user"].endswith("\\Administrator"), record


def round_trip(bin_dir: Path, tmp: Path, lab: dict[str, str], connection: str, transport: str, token: str) -> None:
    """web_auth and app_pool on SERVER1/SERVER2: plan, apply, a zero-change rerun, check mode byte-identical.

    The pool password goes in at -vvvvv and must appear in no output and no node log.
    """
    name = "cn-%s" % token
    secret = "Cn-Pool-%s-Pa55!" % uuid.uuid4().hex[:8]
    env = connection_env(tmp, lab, transport)
    logs = {node: NodeLog(node_dir(node) / "node.log") for node in NODES}
    configs = {node: node_dir(node) / "applicationHost.config" for node in NODES}
    for node in NODES:
        node_site(node, "add", name, str(40000 + int(token, 16) % 10000), "DefaultAppPool",
                  "%s.%s" % (name, lab["LAB_DNS_DOMAIN"]))
    web = {"site": name, "windows": {"enabled": True, "use_kernel_mode": False, "use_app_pool_credentials": True,
                                     "providers": ["Negotiate", "NTLM"]}, "anonymous": {"enabled": False}}
    pool = {"name": name, "identity": "SpecificUser", "username": "%s\\cam-svc" % lab["LAB_NETBIOS"],
            "password": secret, "state": "started"}
    tasks = {"tasks": [{"webfarm.winauth.web_auth": web}, {"webfarm.winauth.app_pool": pool}]}
    try:
        stages = []
        for stage, options in (("plan", ("--check", "--diff")), ("apply", ("--diff", "-vvvvv")),
                               ("rerun", ()), ("check", ("--check", "--diff"))):
            before = {node: path.read_bytes() for node, path in configs.items()}
            for log in logs.values():
                log.mark()
            out, results = play(bin_dir, tmp, "lb_nodes", tasks, connection, transport, env, *options)
            text = out.stdout + out.stderr
            assert out.returncode == 0 and set(results) == set(NODES), (stage, text[-4000:])
            assert secret not in text and secret not in json.dumps(results), stage
            for node in NODES:
                web_result, pool_result = results[node]["r0"], results[node]["r1"]
                changed = stage in ("plan", "apply")
                assert (web_result["changed"], pool_result["changed"]) == (changed, changed), (stage, results[node])
                calls = [web_result["remote_calls"], pool_result["remote_calls"]]
                assert calls == ([2, 2] if stage == "apply" else [1, 1]), (stage, calls)
                check_records(logs[node].records(), connection, transport, sum(calls))
                if stage in ("plan", "check"):
                    assert configs[node].read_bytes() == before[node], stage      # check mode writes nothing
                stages.append((stage, node))
        for node in NODES:
            assert secret not in logs[node].path.read_text() and secret not in configs[node].read_text()
        assert len(stages) == 8
    finally:
        for node in NODES:
            node_site(node, "remove", name, name)


def recap(output: str) -> dict[str, dict[str, int]]:
    found = {}
    for host, counts in re.findall(r"^(\S+)\s+:\s+(ok=.*)$", output, re.M):
        found[host] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", counts)}
    return found


def ad_connection(lab: dict[str, str]) -> dict:
    return {"server": lab["LAB_DC_HOSTNAME"], "auth": "simple", "tls": "ldaps",
            "username": "%s@%s" % (lab["LAB_ADMIN_USER"], lab["LAB_DNS_DOMAIN"]),
            "password": lab["LAB_ADMIN_PASSWORD"], "ca_cert": lab["LAB_CA_CERT"]}


def lb_farm(bin_dir: Path, tmp: Path, lab: dict[str, str], connection: str, transport: str, token: str) -> None:
    """The lb_farm role on SERVER1/SERVER2 over the connection: it converges, then a second run changes nothing."""
    name = "lbc-%s" % token
    virtual = "sso-%s.%s" % (name, lab["LAB_DNS_DOMAIN"])
    gpo = "IIS-BatchLogon-%s" % name
    password = next(u["password"] for u in yaml.safe_load((REPO / "tests" / "lab" / "seed.yml").read_text())["users"]
                    if u["name"] == "cam-svc")
    env = connection_env(tmp, lab, transport)
    logs = {node: NodeLog(node_dir(node) / "node.log") for node in NODES}
    for node in NODES:
        node_site(node, "add", name, str(50000 + int(token, 16) % 10000), name, virtual)
    role = {"module_defaults": {"group/webfarm.winauth.ad": ad_connection(lab)},
            "roles": [{"role": "webfarm.winauth.lb_farm", "vars": {
                "lb_farm_virtual_name": virtual, "lb_farm_service_account": "%s\\cam-svc" % lab["LAB_NETBIOS"],
                "lb_farm_service_account_password": password, "lb_farm_batch_logon_gpo": gpo,
                "lb_farm_site": name, "lb_farm_app_pool": name, "lb_farm_summary": False}}]}
    try:
        for log in logs.values():
            log.mark()
        first, _results = play(bin_dir, tmp, "lb_nodes", role, connection, transport, env)
        assert first.returncode == 0, first.stdout[-5000:] + first.stderr[-3000:]
        converged = recap(first.stdout)
        assert all(converged[node]["changed"] > 0 and converged[node]["failed"] == 0 for node in NODES), converged
        # A node that changes: one read, one gpupdate (the play created the GPO) and one apply with the restart.
        calls = {node: [r["script"] for r in logs[node].records()] for node in NODES}
        assert all(found == ["iis_config", "gpupdate", "iis_config"] for found in calls.values()), calls
        for log in logs.values():
            log.mark()
        second, _results = play(bin_dir, tmp, "lb_nodes", role, connection, transport, env)
        assert second.returncode == 0, second.stdout[-5000:] + second.stderr[-3000:]
        again = recap(second.stdout)
        assert all(again[node]["changed"] == 0 and again[node]["failed"] == 0 for node in NODES), \
            second.stdout[-5000:]
        assert password not in first.stdout + first.stderr + second.stdout + second.stderr
        for node in NODES:
            records = logs[node].records()
            # Nothing to change: one remote command per node (one read of IIS and of the batch-logon right).
            assert [(r["script"], r.get("op")) for r in records] == [("iis_config", "read")], records
            protocol, listener, _encrypted = EXPECTED[connection]
            assert records and all((r["protocol"], r["listener"], r["auth"], r["rc"]) ==
                                   (protocol, listener, AUTH[transport], 0) for r in records), records
            assert password not in logs[node].path.read_text()
    finally:
        cleanup = {"module_defaults": {"group/webfarm.winauth.ad": ad_connection(lab)}, "tasks": [
            {"webfarm.winauth.spn": {"account": "cam-svc", "state": "absent",
                                     "spns": ["HTTP/%s" % virtual, "HTTP/%s" % virtual.split(".")[0]]}},
            {"webfarm.winauth.gpo": {"name": gpo, "state": "absent"}}],
            "vars": {"ansible_python_interpreter": "{{ ansible_playbook_python }}"}, "connection": "local"}
        play(bin_dir, tmp, "localhost", cleanup, connection, transport, env)
        # The nodes forget the GPO, so that no later test finds the farm's right still applied.
        play(bin_dir, tmp, "lb_nodes", {"tasks": [{"webfarm.winauth.policy_refresh": {"refresh": True}}]},
             connection, transport, env)
        for node in NODES:
            node_site(node, "remove", name, name)


def connection_vars_for(lab: dict[str, str], known_hosts: Path) -> dict:
    """The lab inventory's connection variables, with another known_hosts (for a node of a test's own)."""
    from winauth_lab.nodes import connection_vars  # pylint: disable=import-outside-toplevel,import-error
    return connection_vars(lab["LAB_REALM"], lab["LAB_ADMIN_PASSWORD"], Path(lab["LAB_CA_CERT"]),
                           Path(lab["LAB_SSH_KEY"]), known_hosts)


ARR_NODES = ("ARR1", "CONTENT1", "CONTENT2")
SETTINGS_HELPER = REPO / "extensions" / "molecule" / "shared" / "files" / "iis_settings.py"


def _proxy_enabled(node: str, site: str) -> str:
    out = subprocess.run([sys.executable, str(SETTINGS_HELPER), str(node_dir(node) / "applicationHost.config"), site,
                          site], check=True, capture_output=True, text=True).stdout
    value = json.loads(out)["proxy"].get("enabled")
    return "unset" if value is None else str(value).lower()


def arr_farm(bin_dir: Path, tmp: Path, lab: dict[str, str], connection: str, transport: str, token: str) -> None:
    """The arr_farm role (seed 000: ARR1 in front of CONTENT1, CONTENT2) converges, then changes nothing."""
    name = "arc-%s" % token
    public = "portal-%s.%s" % (name, lab["LAB_DNS_DOMAIN"])
    hosts = {"ARR1": public, "CONTENT1": "content1-%s.%s" % (name, lab["LAB_DNS_DOMAIN"]),
             "CONTENT2": "content2-%s.%s" % (name, lab["LAB_DNS_DOMAIN"])}
    gpo, farm = "IIS-BatchLogon-%s" % name, "%s-farm" % name
    password = next(u["password"] for u in yaml.safe_load((REPO / "tests" / "lab" / "seed.yml").read_text())["users"]
                    if u["name"] == "user1")
    env = connection_env(tmp, lab, transport)
    proxy = _proxy_enabled("ARR1", name)
    for index, node in enumerate(ARR_NODES):
        node_site(node, "add", name, str(20000 + index * 1000 + int(token, 16) % 1000), name, hosts[node])
    role = {"module_defaults": {"group/webfarm.winauth.ad": ad_connection(lab)},
            "roles": [{"role": "webfarm.winauth.arr_farm", "vars": {
                "arr_farm_public_name": public, "arr_farm_farm_name": farm,
                "arr_farm_identity": "%s\\user1" % lab["LAB_NETBIOS"], "arr_farm_identity_password": password,
                "arr_farm_content_name": "{{ %s[inventory_hostname] }}" % json.dumps(hosts),
                "arr_farm_batch_logon_gpo": gpo, "arr_farm_frontend_site": name, "arr_farm_frontend_app_pool": name,
                "arr_farm_content_site": name, "arr_farm_content_app_pool": name, "arr_farm_summary": False}}]}
    try:
        first, _results = play(bin_dir, tmp, "arr_frontends:content_nodes", role, connection, transport, env)
        assert first.returncode == 0, first.stdout[-5000:] + first.stderr[-3000:]
        converged = recap(first.stdout)
        assert all(converged[node]["changed"] > 0 and converged[node]["failed"] == 0 for node in ARR_NODES), converged
        logs = {node: NodeLog(node_dir(node) / "node.log") for node in ARR_NODES}
        second, _results = play(bin_dir, tmp, "arr_frontends:content_nodes", role, connection, transport, env)
        assert second.returncode == 0, second.stdout[-5000:] + second.stderr[-3000:]
        again = recap(second.stdout)
        assert all(again[node]["changed"] == 0 and again[node]["failed"] == 0 for node in ARR_NODES), \
            second.stdout[-5000:]
        # Nothing to change: one read per content server; the front end reads its farm, then its pool and right.
        calls = {node: [(r["script"], r.get("op")) for r in logs[node].records()] for node in ARR_NODES}
        assert calls == {"ARR1": [("iis_config", "read")] * 2, "CONTENT1": [("iis_config", "read")],
                         "CONTENT2": [("iis_config", "read")]}, calls
        assert password not in first.stdout + first.stderr + second.stdout + second.stderr
    finally:
        absent = {"tasks": [{"webfarm.winauth.arr_farm": {"name": farm, "state": "absent"}}]}
        play(bin_dir, tmp, "arr_frontends", absent, connection, transport, env)
        cleanup = {"module_defaults": {"group/webfarm.winauth.ad": ad_connection(lab)}, "tasks": [
            {"webfarm.winauth.spn": {"account": "user1", "spns": ["HTTP/%s" % h for h in hosts.values()],
                                     "state": "absent"}},
            {"webfarm.winauth.gpo": {"name": gpo, "state": "absent"}}],
            "vars": {"ansible_python_interpreter": "{{ ansible_playbook_python }}"}, "connection": "local"}
        play(bin_dir, tmp, "localhost", cleanup, connection, transport, env)
        node_site("ARR1", "proxy", proxy)
        for node in ARR_NODES:
            node_site(node, "remove", name, name)
