"""Seed 001 end to end on the lab: the lb_farm role, then Kerberos through a real L4 balancer, broken and fixed.

The farm gets a site and a pool of its own on SERVER1 and SERVER2 and a virtual name of its own
(``lbp-<token>.camtest.local``), reached through HAProxy on sso.camtest.local (127.0.0.20:443),
so other tests on the shared lab are not disturbed; the site, the pool, the SPNs and the GPO are
removed at the end (by edits, not a byte restore: other suites change these nodes too). Each
scenario shows the failure three ways: the probe (tokens on the wire), the node's W3C log (as IIS
writes it) and the audit (directory plus nodes), then the fix.
"""

from __future__ import annotations

import os
import uuid

import pytest

from harness.ansible import run_module
from harness.directory import admin_connection, ldb_values, move_spn, samba_tool, set_supported_enctypes, spn_holders
from harness.nodes import Node
from harness.verification import audit, ids, lab_playbook, probe

WRONG_KEY = {31, 35, 41, 44, 45}


@pytest.fixture(scope="module")
def farm(lab, tmp_path_factory):
    token = uuid.uuid4().hex[:6]
    tmp = tmp_path_factory.mktemp("l4")
    name = "lbp-%s" % token
    context = {"tmp": tmp, "name": name, "virtual": "%s.camtest.local" % name, "gpo": "%s-BatchLogon" % name,
               "nodes": {n: Node(n) for n in ("SERVER1", "SERVER2")}}
    context["farm"] = {"name": name, "kind": "lb", "names": [context["virtual"], name], "site": name,
                       "identity": "CAMTEST\\cam-svc", "batch_logon_gpo": context["gpo"]}
    site_id = 20000 + int(token, 16) % 10000
    for node in context["nodes"].values():
        node.add_site(name, site_id, name, context["virtual"])
    try:
        run = converge(context)
        assert run.returncode == 0, run.stdout[-5000:] + run.stderr[-2000:]
        yield context
    finally:
        for spn in ("HTTP/%s" % context["virtual"], "HTTP/%s" % name):
            for holder in spn_holders(spn):
                samba_tool("spn", "delete", spn, holder, check=False)
        cleanup = lab_playbook(tmp, "cleanup", [
            {"hosts": "localhost", "gather_facts": False,
             "vars": {"ansible_python_interpreter": "{{ ansible_playbook_python }}"},
             "module_defaults": {"group/webfarm.winauth.ad": admin_connection()},
             "tasks": [{"webfarm.winauth.gpo": {"name": context["gpo"], "state": "absent"}}]},
            {"hosts": "lb_nodes", "gather_facts": False,
             "tasks": [{"webfarm.winauth.policy_refresh": {"refresh": True}}]}])
        for node in context["nodes"].values():
            node.remove_site(name, name)
        assert cleanup.returncode == 0, cleanup.stdout[-3000:]


def converge(context: dict, **overrides) -> object:
    role_vars = {"lb_farm_virtual_name": context["virtual"], "lb_farm_service_account": "CAMTEST\\cam-svc",
                 "lb_farm_service_account_password": "Cam-Svc-Pa55!", "lb_farm_batch_logon_gpo": context["gpo"],
                 "lb_farm_site": context["name"], "lb_farm_app_pool": context["name"], "lb_farm_summary": False}
    role_vars.update(overrides)
    return lab_playbook(context["tmp"], "converge", [{
        "hosts": "lb_nodes", "gather_facts": False,
        "module_defaults": {"group/webfarm.winauth.ad": admin_connection()},
        "roles": [{"role": "webfarm.winauth.lb_farm"}]}], extra_vars=role_vars)


def lb_probe(context: dict, count: int = 4, scheme: str = "https", **options) -> dict:
    for node in context["nodes"].values():
        node.mark()
    options.setdefault("expect", "kerberos")
    return probe("%s://%s/" % (scheme, context["virtual"]), connect_to="sso.camtest.local", count=count, **options)


def assert_kerberos_everywhere(context: dict) -> None:
    result = lb_probe(context, expect_backends=["SERVER1", "SERVER2"])
    assert result["ok"], result["msg"]
    assert result["backends"] == {"SERVER1": {"kerberos": 2}, "SERVER2": {"kerberos": 2}}
    for attempt in result["attempts"]:
        assert attempt["statuses"] == [401, 200] and attempt["mutual_auth"] is True
        assert attempt["ticket"]["spn"] == "HTTP/%s" % context["virtual"]
    for node in context["nodes"].values():
        rows = node.w3c(context["virtual"])
        # Kerberos in the node's own log: 401.2 then 200, twice (one per attempt that reached it).
        assert [r["status"] for r in rows] == ["401.2", "200.0"] * 2, rows
        assert {r["user"] for r in rows if r["status"] == "200.0"} == {"CAMTEST\\alice"}


def test_l4_kerberos_on_every_node_through_haproxy(farm) -> None:
    assert spn_holders("HTTP/%s" % farm["virtual"]) == ["cam-svc"]
    assert_kerberos_everywhere(farm)
    result = audit(farm["tmp"], "lb_nodes", farm["farm"], report=True)
    assert result["summary"]["error"] == 0, result["report"]
    assert result["files"]["svg"] and os.path.getsize(result["files"]["svg"]) > 0
    assert "cam-svc" in open(result["files"]["dot"], encoding="utf-8").read()


def test_the_role_sets_aes_and_require_aes_catches_an_identity_pinned_to_rc4(farm) -> None:
    aes = "aes256-cts-hmac-sha1-96"
    assert ldb_values("(sAMAccountName=cam-svc)", "msDS-SupportedEncryptionTypes") == ["24"]   # AES128 | AES256
    result = lb_probe(farm, require_aes=True, expect_backends=["SERVER1", "SERVER2"])
    assert result["ok"], result["msg"]
    assert result["ticket_etypes"] == [aes] and result["session_etypes"] == [aes]
    set_supported_enctypes("cam-svc", 4)
    try:
        pinned = lb_probe(farm, count=1, require_aes=True)
        # Pinned to RC4 alone (no AES session-key bit), the session key is RC4 too.
        assert not pinned["ok"] and pinned["ticket_etypes"] == pinned["session_etypes"] == ["rc4-hmac"]
        assert ("but the ticket and the session key for HTTP/%s are not AES (ticket rc4-hmac, session key rc4-hmac)"
                % farm["virtual"]) in pinned["msg"]
        assert lb_probe(farm, count=1)["ok"]            # Kerberos itself still works with the RC4 ticket
        # The audit names the cause once, for the farm, as read from the directory.
        (rc4,) = [f for f in audit(farm["tmp"], "lb_nodes", farm["farm"])["findings"]
                  if f["id"] == "identity_allows_rc4"]
        assert rc4["severity"] == "error" and rc4["node"] is None and rc4["account"] == "CAMTEST\\cam-svc"
        assert "0x4 (RC4-HMAC)" in rc4["detail"] and "webfarm.winauth.kerberos_encryption" in rc4["fix"]
    finally:
        run = converge(farm)
        assert run.returncode == 0, run.stdout[-5000:]
    assert "Set the Kerberos encryption types of the shared account" in run.stdout
    assert lb_probe(farm, count=2, require_aes=True)["ticket_etypes"] == [aes]
    assert "identity_allows_rc4" not in {f["id"] for f in audit(farm["tmp"], "lb_nodes", farm["farm"])["findings"]}


def test_over_http_the_probe_falls_back_to_ntlm_only_when_asked(farm) -> None:
    """No ticket for the SPN asked for: over http:// the NTLM exchange would cross the network unprotected."""
    url, nobody = "http://%s/" % farm["virtual"], "HTTP/nobody-%s.camtest.local" % farm["name"]
    withheld = lb_probe(farm, count=1, scheme="http", spn=nobody)
    assert withheld["attempts"][0]["statuses"] == [401], withheld["attempts"]
    assert not withheld["ok"] and withheld["mechanisms"] == ["kerberos"]
    assert "NTLM was not tried" in withheld["msg"] and "mechanisms" in withheld["msg"], withheld["msg"]
    rows = [r["status"] for n in farm["nodes"].values() for r in n.w3c(farm["virtual"])]
    assert rows == ["401.2"], rows          # the challenge only: no NTLM leg reached a node
    refused = run_module("webfarm.winauth.negotiate_probe", {
        "url": url, "connect_to": "sso.camtest.local", "expect": "ntlm", "username": "alice@CAMTEST.LOCAL",
        "password": "Alice-Pa55!"})
    assert refused.failed and "mechanisms" in refused.msg and "expect: ntlm" in refused.msg, refused.msg
    asked = lb_probe(farm, count=1, scheme="http", spn=nobody, mechanisms=["kerberos", "ntlm"], expect="ntlm")
    assert asked["ok"], asked["msg"]
    assert asked["mechanism"] == "ntlm" and asked["attempts"][0]["statuses"] == [401, 401, 200]
    assert any("over http://" in w for w in asked.get("warnings", [])), asked.get("warnings")


def test_seed_001_spn_on_server1_breaks_kerberos_and_the_role_fixes_it(farm) -> None:
    spn = "HTTP/%s" % farm["virtual"]
    move_spn(spn, "SERVER1$")
    result = lb_probe(farm)
    assert not result["ok"] and result["mechanism"] == "none"
    for attempt in result["attempts"]:
        # A ticket for the SPN (now encrypted with SERVER1$'s key) that neither node's pool identity can read.
        assert attempt["statuses"] == [401, 401]
        assert attempt["server_error"]["code"] in WRONG_KEY
    assert "rejected the Kerberos ticket for %s" % spn in result["msg"]
    for node in farm["nodes"].values():
        assert [r["status"] for r in node.w3c(farm["virtual"])] == ["401.2", "401.1"] * 2
        assert {r["win32"] for r in node.w3c(farm["virtual"]) if r["status"] == "401.1"} == {2148074252}
        assert any("SERVER1$" not in d.get("key_account", "") and "could not be decrypted with the keys of cam-svc"
                   in d.get("why", "") for d in node.details())
    findings = audit(farm["tmp"], "lb_nodes", farm["farm"])["findings"]
    misplaced = [f for f in findings if f["id"] == "spn_on_computer_account"]
    assert {f["node"] for f in misplaced} == {"SERVER1", "SERVER2"}
    assert all(f["spn"] == spn and f["account"] == "SERVER1$" for f in misplaced)
    assert ("spn_on_unused_account", None) in ids(findings)
    # The fix: the role again, told to take the SPN back.
    run = converge(farm, lb_farm_spn_on_conflict="move")
    assert run.returncode == 0, run.stdout[-4000:]
    assert spn_holders(spn) == ["cam-svc"]
    assert_kerberos_everywhere(farm)


def test_kernel_mode_without_app_pool_credentials_fails_on_that_node(farm) -> None:
    web_auth = lab_playbook(farm["tmp"], "kernel", [{"hosts": "SERVER1", "gather_facts": False, "tasks": [
        {"webfarm.winauth.web_auth": {"site": farm["name"], "windows": {
            "use_kernel_mode": True, "use_app_pool_credentials": False}}}]}])
    assert web_auth.returncode == 0, web_auth.stdout[-3000:]
    server1 = farm["nodes"]["SERVER1"]
    server1.mark()
    result = probe("https://%s/" % farm["virtual"], connect_to="server1.camtest.local", expect="kerberos")
    assert not result["ok"] and result["attempts"][0]["server_error"]["code"] in WRONG_KEY
    assert "useAppPoolCredentials" in result["msg"]
    assert [r["status"] for r in server1.w3c(farm["virtual"])] == ["401.2", "401.1"]
    why = [d for d in server1.details() if d.get("status") == 401 and d.get("substatus") == 1][0]
    assert why["key_account"] == "SERVER1$" and "kernel-mode" in why["key_reason"]
    findings = audit(farm["tmp"], "lb_nodes", farm["farm"])["findings"]
    assert ("kernel_mode_machine_keys", "SERVER1") in ids(findings, "error")
    assert ("kernel_mode_machine_keys", "SERVER2") not in ids(findings)
    fixed = lab_playbook(farm["tmp"], "kernel-fix", [{"hosts": "SERVER1", "gather_facts": False, "tasks": [
        {"webfarm.winauth.web_auth": {"site": farm["name"], "windows": {"use_app_pool_credentials": True}}}]}])
    assert fixed.returncode == 0, fixed.stdout[-3000:]
    assert_kerberos_everywhere(farm)


def test_batch_logon_right_removed_gives_503_after_policy_refresh(farm) -> None:
    removed = lab_playbook(farm["tmp"], "remove-right", [
        {"hosts": "localhost", "gather_facts": False,
         "vars": {"ansible_python_interpreter": "{{ ansible_playbook_python }}"},
         "module_defaults": {"group/webfarm.winauth.ad": admin_connection()},
         "tasks": [{"webfarm.winauth.gpo_user_rights": {"gpo": farm["gpo"], "right": "SeBatchLogonRight",
                                                        "accounts": ["CAMTEST\\cam-svc"], "mode": "remove"}}]},
        {"hosts": "lb_nodes", "gather_facts": False, "tasks": [
            {"webfarm.winauth.policy_refresh": {"refresh": True}},
            # The running worker keeps its logon; the next start (a recycle, an idle timeout) fails.
            {"webfarm.winauth.app_pool": {"name": farm["name"], "state": "restarted"}}]}])
    assert removed.returncode == 0, removed.stdout[-4000:]
    result = lb_probe(farm, count=2, expect_status=200)
    assert not result["ok"] and result["status"] == 503
    assert "batch job" in result["msg"]
    for node in farm["nodes"].values():
        assert any(" 503 " in line and "AppOffline" in line and farm["name"] in line for line in
                   node.since("httperr.log"))
        events = node.since("events.log")
        assert any('"id": 5021' in e and "SeBatchLogonRight" in e and farm["name"] in e for e in events), events
    findings = audit(farm["tmp"], "lb_nodes", farm["farm"])["findings"]
    assert {("batch_logon_missing", "SERVER1"), ("batch_logon_missing", "SERVER2")} <= ids(findings, "error")
    run = converge(farm)
    assert run.returncode == 0, run.stdout[-4000:]
    assert_kerberos_everywhere(farm)
