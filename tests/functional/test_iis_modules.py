"""web_auth, app_pool and policy_refresh against lab nodes, through Ansible's own winrm connection.

The detailed tests run on a pair of lab nodes of their own (WASRV1, WASRV2: the same node program as
the lab's, on 127.0.0.93-94, in the test's directory, in an inventory group ``lb_nodes``), because
the lab's SERVER1 and SERVER2 are shared with other suites that configure them at the same time: a
test that replaced or restored their applicationHost.config would undo their work, and their writes
would make byte-level checks of ours meaningless. Each test starts its nodes from a fresh IIS 10
applicationHost.config. Evidence beside the modules' own results: the node's applicationHost.config
(bytes and an XML line diff) and the node's log (one record per remote call, names only).
A last test runs on the lab's own lb_nodes (SERVER1, SERVER2) from $LAB_INVENTORY with names of its
own, and removes what it made.
"""

from __future__ import annotations

import difflib
import json
import os
import subprocess
import uuid
from pathlib import Path

import pytest
import yaml

from harness.ansible import run_on_hosts
from harness.nodes import Node, write_atomically
from winauth_lab.cli import lab_dir, load_seed
from winauth_lab.dc import SambaDC
from winauth_lab.iis import initial_config
from winauth_lab.nodes import NodeFleet, NodeSpec

LB = ("WASRV1", "WASRV2")
ADDRESSES = {"WASRV1": "127.0.0.93", "WASRV2": "127.0.0.94"}
SITE = "Default Web Site"
POOL_SECRET = "Wa-Pool-%s!" % uuid.uuid4().hex[:10]
ANON_SECRET = "Wa-Anon-%s!" % uuid.uuid4().hex[:10]
NODE_FILES = ("applicationHost.config", "runtime.json", "applied_policy.json")


@pytest.fixture(scope="module")
def pair(lab, tmp_path_factory):
    """Two lab nodes of this module's own, and an inventory that puts them in lb_nodes."""
    fleet = NodeFleet(SambaDC(lab_dir(), load_seed()))
    base = tmp_path_factory.mktemp("nodes")
    started = []
    try:
        for name in LB:
            spec = NodeSpec(name, ADDRESSES[name], lab["LAB_DNS_DOMAIN"], computer_account=False)
            config = fleet.prepare(spec, node_dir=base / name.lower())
            started.append((config, fleet.launch(config, None)))
        for config, process in started:
            fleet.wait_ready(config, process)
        inventory = base / "inventory.yml"
        inventory.write_text(yaml.safe_dump({"all": {"children": {"lb_nodes": {
            "hosts": {name: {"ansible_host": ADDRESSES[name]} for name in LB},
            "vars": {"ansible_connection": "winrm", "ansible_port": 5986, "ansible_winrm_transport": "ntlm",
                     "ansible_user": "Administrator@%s" % lab["LAB_REALM"], "ansible_password": lab["LAB_ADMIN_PASSWORD"],
                     "ansible_winrm_ca_trust_path": lab["LAB_CA_CERT"]}}}}}))
        yield {"inventory": str(inventory),
               "nodes": {config.name: Node(config.name, config.directory, config.log_path) for config, _p in started}}
    finally:
        for config, process in started:
            fleet.stop_pids([(process.pid, config.directory / "node.json", config.address)])
            process.wait(timeout=10)


@pytest.fixture()
def lb(pair) -> dict[str, Node]:
    """The pair from a fresh applicationHost.config, with no runtime state or applied policy."""
    for node in pair["nodes"].values():
        write_atomically(node.config, initial_config(node.name).encode("utf-8"))
        for name in NODE_FILES[1:]:
            (node.directory / name).unlink(missing_ok=True)
        node.mark()
    os.environ["WA_PAIR_INVENTORY"] = pair["inventory"]
    return pair["nodes"]


def play(tmp_path: Path, tasks: list[dict], *options: str, hosts: str = "lb_nodes",
         inventory: str | None = None) -> tuple[subprocess.CompletedProcess, dict[str, dict]]:
    """Run tasks on the hosts; return the process and, per host, each task's registered result (r0, r1, ...)."""
    out, results = run_on_hosts(tmp_path, hosts, tasks, *options, inventory=inventory or os.environ["WA_PAIR_INVENTORY"])
    assert results, out.stdout[-3000:] + out.stderr[-3000:]
    return out, results


def xml_changes(before: str, after: str) -> tuple[list[str], list[str]]:
    """(removed, added) lines of applicationHost.config, stripped."""
    removed, added = [], []
    for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0):
        if line.startswith(("---", "+++", "@@")):
            continue
        (removed if line.startswith("-") else added).append(line[1:].strip())
    return removed, added


def add_application(node: Node, path: str, pool: str) -> None:
    """Set-up as another tool (appcmd) would do it: an application of the Default Web Site, in the file."""
    text = node.text()
    anchor = '            <site name="Default Web Site" id="1">\r\n'
    assert anchor in text
    app = ('                <application path="%s" applicationPool="%s">\r\n'
           '                    <virtualDirectory path="/" physicalPath="C:\\inetpub\\wa" />\r\n'
           '                </application>\r\n' % (path, pool))
    write_atomically(node.config, text.replace(anchor, anchor + app).encode("utf-8"))


SEED_001 = {"site": "default web site",
            "windows": {"enabled": True, "use_kernel_mode": False, "use_app_pool_credentials": True,
                        "providers": ["Negotiate", "NTLM"]},
            "anonymous": {"enabled": False}}


def test_web_auth_check_mode_writes_nothing_then_applies_only_the_intended_xml(lb, tmp_path) -> None:
    before = {name: node.config.read_bytes() for name, node in lb.items()}
    out, results = play(tmp_path, [{"webfarm.winauth.web_auth": SEED_001, "check_mode": True, "diff": True}])
    assert out.returncode == 0, out.stdout[-3000:]
    for name, node in lb.items():
        checked = results[name]["r0"]
        assert checked["changed"] is True and checked["remote_calls"] == 1, checked
        assert "useKernelMode = true (default)" in checked["diff"]["before"]
        assert "useKernelMode = false" in checked["diff"]["after"]
        assert node.config.read_bytes() == before[name]
        assert [(r["script"], r["op"]) for r in node.records()] == [("iis_config", "read")]
        node.mark()

    out, results = play(tmp_path, [
        {"webfarm.winauth.web_auth": SEED_001, "diff": True},
        {"webfarm.winauth.web_auth": SEED_001},
    ], "--diff")
    assert out.returncode == 0, out.stdout[-3000:]
    for name, node in lb.items():
        applied, again = results[name]["r0"], results[name]["r1"]
        assert applied["changed"] is True and applied["remote_calls"] == 2 and applied["location"] == SITE
        assert applied["changes"] == [
            "set enabled=true (system.webServer/security/authentication/windowsAuthentication @ %s)" % SITE,
            "set useAppPoolCredentials=true (system.webServer/security/authentication/windowsAuthentication @ %s)"
            % SITE,
            "set useKernelMode=false (system.webServer/security/authentication/windowsAuthentication @ %s)" % SITE,
            "set enabled=false (system.webServer/security/authentication/anonymousAuthentication @ %s)" % SITE]
        assert again["changed"] is False and again["remote_calls"] == 1 and again["changes"] == []
        assert [(r["op"], r.get("changed")) for r in node.records()] == [("read", None), ("apply", True), ("read", None)]
        removed, added = xml_changes(before[name].decode("utf-8"), node.text())
        assert removed == []
        assert added == [
            '<location path="Default Web Site">', "<system.webServer>", "<security>", "<authentication>",
            '<windowsAuthentication enabled="true" useAppPoolCredentials="true" useKernelMode="false" />',
            '<anonymousAuthentication enabled="false" />',
            "</authentication>", "</security>", "</system.webServer>", "</location>"]


def test_web_auth_every_option_on_an_application(lb, tmp_path) -> None:
    app = "/wa-%s" % uuid.uuid4().hex[:6]
    for node in lb.values():
        add_application(node, app, "DefaultAppPool")
        node.mark()
    full = {"site": SITE, "application": app[1:],
            "windows": {"enabled": True, "use_kernel_mode": True, "use_app_pool_credentials": True,
                        "providers": ["Negotiate:Kerberos", "NTLM"], "auth_persist_single_request": True,
                        "auth_persist_non_ntlm": True,
                        "extended_protection": {"token_checking": "Require", "flags": ["Proxy", "AllowDotlessSpn"],
                                                "spns": ["HTTP/sso.camtest.local", "HTTP/sso"]}},
            "anonymous": {"enabled": False, "username": "CAMTEST\\user1", "password": ANON_SECRET}}
    pool_identity = {"site": SITE, "application": app, "anonymous": {"enabled": True, "username": ""},
                     "windows": {"enabled": False}}
    before = {name: node.text() for name, node in lb.items()}
    out, results = play(tmp_path, [
        {"webfarm.winauth.web_auth": full, "diff": True},
        {"webfarm.winauth.web_auth": full},
        {"webfarm.winauth.web_auth": dict(full, anonymous=dict(full["anonymous"], password="Changed-1!")),
         "check_mode": True},
        {"webfarm.winauth.web_auth": dict(full, windows={"providers": ["NTLM"]})},
        {"webfarm.winauth.web_auth": dict(full, windows={"providers": ["NTLM"]})},
        {"webfarm.winauth.web_auth": pool_identity},
        {"webfarm.winauth.web_auth": {"site": "No Such Site", "windows": {"enabled": True}}},
        {"webfarm.winauth.web_auth": {"site": SITE, "application": "/nope", "windows": {"enabled": True}}},
        {"webfarm.winauth.web_auth": {"site": SITE, "windows": {"providers": ["Negotiate", "Kerberos"]}}},
    ], "-vvv")
    assert ANON_SECRET not in out.stdout + out.stderr
    for name, node in lb.items():
        r = results[name]
        assert ANON_SECRET not in json.dumps(r)
        assert r["r0"]["changed"] is True and r["r0"]["remote_calls"] == 2 and r["r0"]["location"] == SITE + app
        assert "password = (secret, changed)" in r["r0"]["diff"]["after"]
        assert r["r1"]["changed"] is False and r["r1"]["remote_calls"] == 1
        assert r["r2"]["changed"] is True and r["r2"]["remote_calls"] == 1
        assert r["r2"]["changes"] == ["set password (secret) (system.webServer/security/authentication/"
                                      "anonymousAuthentication @ %s%s)" % (SITE, app)]
        assert r["r3"]["changed"] is True and r["r4"]["changed"] is False and r["r4"]["remote_calls"] == 1
        assert r["r5"]["changed"] is True and not any("both anonymous" in w for w in r["r5"].get("warnings", []))
        assert r["r6"]["failed"] is True and r["r6"]["remote_calls"] == 1
        assert r["r6"]["msg"] == ("site: no site named 'No Such Site' on this host (sites: Default Web Site). Fix: "
                                  "create the site first, or correct the name")
        assert r["r7"]["failed"] is True and r["r7"]["msg"].startswith(
            "application: site 'Default Web Site' has no application /nope (applications: %s, /)" % app)
        assert r["r8"]["failed"] is True and r["r8"]["remote_calls"] == 0
        assert r["r8"]["msg"].startswith("windows.providers: 'Kerberos' is not a Windows authentication provider "
                                         "(Kerberos only is spelled Negotiate:Kerberos). Fix: use providers from "
                                         "Negotiate, NTLM, Negotiate:Kerberos")
        records = node.records()
        assert [r.get("op") for r in records] == ["read", "apply", "read", "read", "read", "apply", "read", "read",
                                                  "apply", "read", "read"]
        assert ANON_SECRET not in node.log.path.read_text() and ANON_SECRET not in node.text()
        removed, added = xml_changes(before[name], node.text())
        assert removed == []
        location = added[added.index('<location path="Default Web Site%s">' % app):]
        assert location[:4] == ['<location path="Default Web Site%s">' % app, "<system.webServer>", "<security>",
                                "<authentication>"]
        windows = "\n".join(location)
        # useKernelMode=true is the schema default: a value equal to the effective one is not written
        assert ('<windowsAuthentication enabled="false" useAppPoolCredentials="true" '
                'authPersistSingleRequest="true" authPersistNonNTLM="true">') in windows
        assert "<clear />\n<add value=\"NTLM\" />\n</providers>" in windows
        assert '<extendedProtection tokenChecking="Require" flags="Proxy, AllowDotlessSpn">' in windows
        assert '<spn name="HTTP/sso.camtest.local" />\n<spn name="HTTP/sso" />' in windows
        assert '<anonymousAuthentication enabled="true" userName="" password="[enc:AesProvider::enc]" />' in windows
        assert added == location and len(location) == 19


def test_app_pool_lifecycle_identity_and_runtime(lb, tmp_path) -> None:
    pool = "wa-pool-%s" % uuid.uuid4().hex[:6]
    app = "/wa-kerb-%s" % uuid.uuid4().hex[:6]
    for node in lb.values():
        add_application(node, app, pool)
        node.mark()
    create = {"name": pool, "identity": "SpecificUser", "username": "CAMTEST\\cam-svc", "password": POOL_SECRET,
              "load_user_profile": True, "idle_timeout": 0, "idle_timeout_action": "Suspend",
              "managed_runtime_version": "", "start_mode": "AlwaysRunning", "managed_pipeline_mode": "Classic",
              "auto_start": False,
              "periodic_restart": {"time": "00:00:00", "requests": 0, "memory": 0, "private_memory": 1048576,
                                   "schedule": ["03:00:00", "15:30:00"]}, "state": "started"}
    out, results = play(tmp_path, [
        {"webfarm.winauth.web_auth": {"site": SITE, "application": app, "windows": {"enabled": True}}},
        {"webfarm.winauth.app_pool": create, "check_mode": True, "diff": True},
        {"webfarm.winauth.app_pool": create, "diff": True},
        {"webfarm.winauth.app_pool": create},
        {"webfarm.winauth.app_pool": dict(create, password="Other-Pa55!"), "check_mode": True},
        {"webfarm.winauth.app_pool": dict(create, password="Other-Pa55!", update_password="on_create")},
        {"webfarm.winauth.app_pool": {"name": pool, "state": "stopped"}},
        {"webfarm.winauth.app_pool": {"name": pool, "state": "stopped"}},
        {"webfarm.winauth.app_pool": {"name": pool, "state": "recycled"}},
        {"webfarm.winauth.app_pool": {"name": pool, "state": "restarted"}},
        {"webfarm.winauth.app_pool": {"name": pool, "state": "recycled"}},
        {"webfarm.winauth.web_auth": {"site": SITE, "application": app, "windows": {"use_app_pool_credentials": True}}},
        {"webfarm.winauth.app_pool": {"name": pool, "username": "CAMTEST\\cam-svc"}},
        {"webfarm.winauth.app_pool": {"name": pool, "username": "CAMTEST\\web-gmsa$"}},
        {"webfarm.winauth.app_pool": {"name": pool, "identity": "NetworkService"}},
        {"webfarm.winauth.app_pool": {"name": pool, "identity": "LocalSystem"}},
        {"webfarm.winauth.app_pool": {"name": pool, "identity": "ApplicationPoolIdentity"}},
        {"webfarm.winauth.app_pool": {"name": pool, "username": "CAMTEST\\user1"}},
        {"webfarm.winauth.app_pool": {"name": pool, "identity": "LocalService", "password": POOL_SECRET}},
        {"webfarm.winauth.app_pool": {"name": pool, "state": "absent"}, "check_mode": True},
        {"webfarm.winauth.app_pool": {"name": pool, "state": "absent"}},
        {"webfarm.winauth.app_pool": {"name": pool, "state": "absent"}},
    ], "-vvv")
    assert POOL_SECRET not in out.stdout + out.stderr
    for name, node in lb.items():
        r = results[name]
        assert POOL_SECRET not in json.dumps(r)
        checked, created, again = r["r1"], r["r2"], r["r3"]
        assert checked["changed"] is True and checked["remote_calls"] == 1 and checked["existed"] is False
        assert checked["diff"] == created["diff"] and checked["changes"] == created["changes"]
        assert created["changed"] is True and created["remote_calls"] == 2
        assert created["runtime_state"] == "Started" and created["applications"] == [SITE + app]
        for line in ("autoStart = false", "managedPipelineMode = Classic", "startMode = AlwaysRunning",
                     "loadUserProfile = true", "idleTimeout = 00:00:00", "idleTimeoutAction = Suspend",
                     "privateMemory = 1048576", "schedule = 03:00:00, 15:30:00", "state = Started (start)"):
            assert line in created["diff"]["after"], line
        warning = [w for w in created["warnings"] if "useKernelMode=true and useAppPoolCredentials=false" in w]
        assert warning and warning[0].startswith("application pool %s runs as CAMTEST\\cam-svc, but Windows "
                                                 "authentication at %s%s" % (pool, SITE, app))
        assert "password = (secret, changed)" in created["diff"]["after"]
        assert again["changed"] is False and again["remote_calls"] == 1 and again["runtime_state_before"] == "Started"
        assert r["r4"]["changed"] is True and r["r4"]["remote_calls"] == 1 and r["r4"]["changes"] == [
            "set password (secret) (system.applicationHost/applicationPools @ server [name=%s]/processModel)" % pool]
        assert r["r5"]["changed"] is False and r["r5"]["remote_calls"] == 1
        assert (r["r6"]["changed"], r["r6"]["runtime_state"], r["r6"]["remote_calls"]) == (True, "Stopped", 2)
        assert (r["r7"]["changed"], r["r7"]["remote_calls"]) == (False, 1)
        assert (r["r8"]["changes"], r["r8"]["runtime_state"]) == (
            ["start application pool %s (system.applicationHost/applicationPools @ server [name=%s])" % (pool, pool)],
            "Started")
        short = {key: [c.split(" (")[0] for c in value.get("changes", [])] for key, value in r.items()}
        assert short["r9"] == ["stop application pool %s" % pool, "start application pool %s" % pool]
        assert short["r10"] == ["recycle application pool %s" % pool]
        assert r["r12"]["changed"] is False and not r["r12"].get("warnings")    # useAppPoolCredentials is on now
        assert short["r13"] == ["set userName=CAMTEST\\web-gmsa$", "clear password"]
        assert short["r14"] == ["set identityType=NetworkService", 'set userName=""']
        assert short["r15"] == ["set identityType=LocalSystem"]
        assert short["r16"] == ["set identityType=ApplicationPoolIdentity"]
        assert r["r16"]["identity"] == "ApplicationPoolIdentity" and r["r16"]["username"] is None
        assert r["r17"]["failed"] is True and r["r17"]["remote_calls"] == 1 and r["r17"]["msg"].startswith(
            "password is required to run application pool %s as CAMTEST\\user1" % pool)
        assert r["r18"]["failed"] is True and r["r18"]["remote_calls"] == 0 and r["r18"]["msg"] == (
            "password applies only to identity=SpecificUser, not identity=LocalService. Fix: remove password")
        assert r["r19"]["changed"] is True and r["r19"]["remote_calls"] == 1
        assert r["r20"]["changed"] is True and r["r20"]["remote_calls"] == 2 and r["r20"]["warnings"] == [
            "application pool %s is removed while %s%s still use it: they answer 503 until they are moved to another "
            "pool" % (pool, SITE, app)]
        assert r["r21"]["changed"] is False and r["r21"]["remote_calls"] == 1
        # independent evidence: the node's log and files
        records = node.records()
        calls = [r["r%d" % i]["remote_calls"] for i in range(22)]
        assert calls == [2, 1, 2, 1, 1, 1, 2, 1, 2, 2, 2, 2, 1, 2, 2, 2, 2, 1, 0, 1, 2, 1]
        assert len(records) == sum(calls)
        applies = [rec for rec in records if rec.get("op") == "apply"]
        assert len(applies) == calls.count(2)
        assert [[e["op"] for e in rec["edits"] if e["op"] in ("start", "stop", "recycle")] for rec in applies] == [
            [], ["start"], ["stop"], ["start"], ["stop", "start"], ["recycle"], [], [], [], [], [], []]
        assert POOL_SECRET not in node.log.path.read_text() and POOL_SECRET not in node.text()
        assert pool not in node.text().replace('applicationPool="%s"' % pool, "")
        state = json.loads((node.directory / "runtime.json").read_text())
        assert pool.lower() not in state["applicationPools"]


def test_password_is_compared_on_the_host_and_lands_encrypted(lb, tmp_path) -> None:
    pool = "wa-secret-%s" % uuid.uuid4().hex[:6]
    spec = {"name": pool, "username": "cam-svc@camtest.local", "password": POOL_SECRET}
    out, results = play(tmp_path, [{"webfarm.winauth.app_pool": spec}, {"webfarm.winauth.app_pool": spec}],
                        hosts="WASRV1")
    assert out.returncode == 0 and POOL_SECRET not in out.stdout + out.stderr
    assert [results["WASRV1"]["r%d" % i]["remote_calls"] for i in (0, 1)] == [2, 1]
    text = lb["WASRV1"].text()
    start = text.index('<add name="%s"' % pool)
    element = text[start:text.index("</add>", start)]
    assert 'identityType="SpecificUser"' in element and 'userName="cam-svc@camtest.local"' in element
    assert 'password="[enc:IISWASOnlyCngProvider:' in element and POOL_SECRET not in text
    reads = [r for r in lb["WASRV1"].records() if r.get("op") == "read"]
    assert len(reads) == 2 and POOL_SECRET not in json.dumps(reads)


def test_on_the_labs_own_lb_nodes(lab, tmp_path) -> None:
    """SERVER1 and SERVER2 from $LAB_INVENTORY, shared with other suites: names of our own, removed at the end."""
    pool = "wa-lb-%s" % uuid.uuid4().hex[:6]
    spec = {"name": pool, "identity": "SpecificUser", "username": "CAMTEST\\cam-svc", "password": POOL_SECRET,
            "state": "started"}
    logs = {name: Node(name) for name in ("SERVER1", "SERVER2")}
    for node in logs.values():
        node.mark()
    try:
        out, results = play(tmp_path, [
            {"webfarm.winauth.app_pool": spec, "check_mode": True},
            {"webfarm.winauth.app_pool": spec},
            {"webfarm.winauth.app_pool": spec},
            {"webfarm.winauth.web_auth": {"site": SITE, "windows": {"enabled": True, "use_app_pool_credentials": True}},
             "check_mode": True, "diff": True},
            {"webfarm.winauth.policy_refresh": {"refresh": False, "rights": ["SeBatchLogonRight"]}},
            {"webfarm.winauth.app_pool": {"name": pool, "state": "absent"}},
        ], "-vvv", inventory=os.environ["LAB_INVENTORY"])
    finally:
        play(tmp_path, [{"webfarm.winauth.app_pool": {"name": pool, "state": "absent"}}],
             inventory=os.environ["LAB_INVENTORY"])
    assert POOL_SECRET not in out.stdout + out.stderr
    for name, node in logs.items():
        r = results[name]
        assert [(r["r%d" % i]["changed"], r["r%d" % i]["remote_calls"]) for i in range(6)] == [
            (True, 1), (True, 2), (False, 1), (r["r3"]["changed"], 1), (False, 1), (True, 2)], r
        assert r["r4"]["rights"]["SeBatchLogonRight"] and not r["r4"].get("failed")
        mine = [rec for rec in node.records() if pool in json.dumps(rec)]
        assert [rec["op"] for rec in mine] == ["apply", "apply"]       # the create and the removal; reads name no pool
        assert POOL_SECRET not in node.log.path.read_text()
        assert pool not in Path(str(node.directory / "applicationHost.config")).read_text(encoding="utf-8")
