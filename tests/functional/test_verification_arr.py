"""Seed 000 end to end on the lab: the arr_farm role, then Kerberos and NTLM through ARR1 to CONTENT1/CONTENT2.

ARR1 gets a front-end site of its own for ``arr-<token>.camtest.local`` (HTTPS, anonymous), its
global rule routes that host name only to a web farm of its own, and CONTENT1 and CONTENT2 get a
content site of their own for the same host name (ARR preserves the Host header). Everything is
removed at the end (sites, pools, farm and rule, SPN, GPO). What each content server's W3C log
shows is compared with seed 000's "401.2 -> 401.1 -> 200" in docs/verification.md.
"""

from __future__ import annotations

import uuid

import pytest

from harness.arr import CONTENT, add_sites, remove_farm
from harness.directory import admin_connection, samba_tool, spn_holders
from harness.nodes import Node
from harness.verification import audit, ids, lab_playbook, probe


@pytest.fixture(scope="module")
def arr(lab, tmp_path_factory):
    token = uuid.uuid4().hex[:6]
    tmp = tmp_path_factory.mktemp("arr")
    public = "arr-%s.camtest.local" % token
    context = {"tmp": tmp, "token": token, "public": public, "front": "arrf-%s" % token,
               "content": "arrc-%s" % token, "gpo": "arr-%s-BatchLogon" % token, "farm_name": "arr-%s-farm" % token,
               "nodes": {n: Node(n) for n in ("ARR1",) + CONTENT}}
    context["farm"] = {"name": "arr-%s" % token, "kind": "arr", "names": [public], "identity": "CAMTEST\\user1",
                       "batch_logon_gpo": context["gpo"]}
    site_id = 30000 + int(token, 16) % 10000
    add_sites(context, site_id)
    try:
        run = converge(context)
        assert run.returncode == 0, run.stdout[-5000:] + run.stderr[-2000:]
        yield context
    finally:
        for holder in spn_holders("HTTP/%s" % public):
            samba_tool("spn", "delete", "HTTP/%s" % public, holder, check=False)
        cleanup = remove_farm(context)
        assert cleanup.returncode == 0, cleanup.stdout[-3000:]


def converge(context: dict, **overrides) -> object:
    role_vars = {"arr_farm_public_name": context["public"], "arr_farm_identity": "CAMTEST\\user1",
                 "arr_farm_identity_password": "User1-Pa55!", "arr_farm_batch_logon_gpo": context["gpo"],
                 "arr_farm_frontend_site": context["front"], "arr_farm_frontend_app_pool": context["front"],
                 "arr_farm_content_site": context["content"], "arr_farm_content_app_pool": context["content"],
                 "arr_farm_register_content_spns": False, "arr_farm_summary": False}
    role_vars.update(overrides)
    return lab_playbook(context["tmp"], "converge", [{
        "hosts": "arr_frontends:content_nodes", "gather_facts": False,
        "module_defaults": {"group/webfarm.winauth.ad": admin_connection()},
        "roles": [{"role": "webfarm.winauth.arr_farm"}]}], extra_vars=role_vars)


def arr_probe(context: dict, **options) -> dict:
    for node in context["nodes"].values():
        node.mark()
    return probe("https://%s/" % context["public"], connect_to="arr1.camtest.local", **options)


def content_log(context: dict) -> dict[str, list[str]]:
    return {name: [r["status"] for r in context["nodes"][name].w3c(context["public"])] for name in CONTENT}


AUDIT_ROLES = {"ARR1": "front_end", "CONTENT1": "content", "CONTENT2": "content"}


def test_kerberos_through_arr_is_accepted_by_the_content_servers(arr) -> None:
    assert spn_holders("HTTP/%s" % arr["public"]) == ["user1"]
    result = arr_probe(arr, count=3, expect="kerberos")
    assert result["ok"], result["msg"]
    backends = set(result["backends"])
    assert backends <= set(CONTENT) and all(m == {"kerberos": n} for m, n in zip(
        result["backends"].values(), [sum(v.values()) for v in result["backends"].values()]))
    for attempt in result["attempts"]:
        # The content server's AP-REP came back through ARR: mutual authentication verified by the client.
        assert attempt["statuses"] == [401, 200] and attempt["mutual_auth"] is True
        assert attempt["ticket"]["spn"] == "HTTP/%s" % arr["public"]
    logs = content_log(arr)
    # One 401.2 and one 200 per attempt across the content servers, and no 401.1: Kerberos needs one leg. ARR
    # balances each request, so an attempt's 401.2 and its 200 may be logged by different content servers.
    every = sum(logs.values(), [])
    assert sorted(every) == ["200.0"] * 3 + ["401.2"] * 3, logs
    arr1 = [r["status"] for r in arr["nodes"]["ARR1"].w3c(arr["public"])]
    assert arr1 == ["401.0", "200.0"] * 3, arr1          # ARR logs what it relayed; it authenticated nobody
    details = [d for name in CONTENT for d in arr["nodes"][name].details() if d.get("status") == 200]
    assert {d["key_account"] for d in details} == {"user1"} and {d["user"] for d in details} == {"CAMTEST\\alice"}
    result = audit(arr["tmp"], "arr_frontends:content_nodes", arr["farm"], roles=AUDIT_ROLES)
    assert result["summary"]["error"] == 0, result["report"]


def test_windows_authentication_on_the_front_end_is_found(arr) -> None:
    turned_on = lab_playbook(arr["tmp"], "front-windows", [{"hosts": "arr_frontends", "gather_facts": False, "tasks": [
        {"webfarm.winauth.web_auth": {"site": arr["front"], "windows": {"enabled": True},
                                      "anonymous": {"enabled": False}}}]}])
    assert turned_on.returncode == 0, turned_on.stdout[-3000:]
    findings = audit(arr["tmp"], "arr_frontends:content_nodes", arr["farm"], roles=AUDIT_ROLES)["findings"]
    assert ("windows_auth_on_arr_front_end", "ARR1") in ids(findings, "error")
    turned_off = lab_playbook(arr["tmp"], "front-anonymous", [{"hosts": "arr_frontends", "gather_facts": False, "tasks": [
        {"webfarm.winauth.web_auth": {"site": arr["front"], "windows": {"enabled": False},
                                      "anonymous": {"enabled": True}}}]}])
    assert turned_off.returncode == 0, turned_off.stdout[-3000:]
    result = arr_probe(arr, expect="kerberos")
    assert result["ok"], result["msg"]


def test_ntlm_mode_works_without_any_spn(arr) -> None:
    for holder in spn_holders("HTTP/%s" % arr["public"]):
        assert samba_tool("spn", "delete", "HTTP/%s" % arr["public"], holder).returncode == 0
    assert spn_holders("HTTP/%s" % arr["public"]) == []
    run = converge(arr, arr_farm_mode="ntlm")
    assert run.returncode == 0, run.stdout[-4000:]
    assert spn_holders("HTTP/%s" % arr["public"]) == []
    result = arr_probe(arr, count=2, expect="ntlm")
    assert result["ok"], result["msg"]
    for attempt in result["attempts"]:
        assert attempt["statuses"] == [401, 401, 200] and attempt["offered"] == ["NTLM"]
        assert attempt["ntlm_user"] and attempt["ntlm_user"].lower().endswith("alice@camtest.local") or \
            attempt["ntlm_user"].lower().endswith("\\alice")
    logs = content_log(arr)
    # Client affinity (the role's default in NTLM mode) keeps each attempt on one content server, which logs
    # seed 000's sequence: 401.2, 401.1 (NTLM's challenge leg), 200.
    for name, statuses in logs.items():
        assert statuses == ["401.2", "401.1", "200.0"] * (len(statuses) // 3), (name, statuses)
    assert sum(len(s) for s in logs.values()) == 6
    # NTLM authenticates a connection, and ARR reuses its backend connections for other clients. The role has the
    # content servers authenticate every request (authPersistSingleRequest), so a new client's request never rides
    # on the connection NTLM authenticated for alice (docs/arr-farm.md, "One connection, many clients"; the
    # unsafe setting planted and found: test_arr_connection_identity.py), and a Kerberos client is told the
    # truth: NTLM only.
    for node in arr["nodes"].values():
        node.mark()
    kerberos = arr_probe(arr, expect="kerberos")
    assert not kerberos["ok"] and "offers only NTLM" in kerberos["msg"]
    # The new client's first request, without credentials, is challenged (nothing rides), and it is served only
    # after a handshake of its own.
    assert kerberos["statuses"] == [401, 401, 200] and "already authenticated for someone else" not in kerberos["msg"]
    served = [d for name in CONTENT for d in arr["nodes"][name].details() if d.get("status") == 200]
    assert [(d["user"], d.get("persisted", "")) for d in served] == [("CAMTEST\\alice", "")]
    again = arr_probe(arr, count=2, expect="ntlm")
    assert again["ok"] and [a["statuses"] for a in again["attempts"]] == [[401, 401, 200]] * 2, again["msg"]
    findings = audit(arr["tmp"], "arr_frontends:content_nodes", dict(arr["farm"], mode="ntlm"),
                     roles=AUDIT_ROLES)["findings"]
    assert not [f for f in findings if f["severity"] == "error"], findings
    kerberos_intended = audit(arr["tmp"], "arr_frontends:content_nodes", arr["farm"], roles=AUDIT_ROLES)["findings"]
    assert {("ntlm_only_providers", "CONTENT1"), ("ntlm_only_providers", "CONTENT2")} <= ids(kerberos_intended)
