"""One user's identity is never served to another client through ARR (the arr_farm role's NTLM mode).

ARR1 keeps a pool of back-end connections to CONTENT1 and CONTENT2 and sends requests of any client over
them. IIS authenticates NTLM once per connection unless ``authPersistSingleRequest`` is on, so a request
that ARR sends on a connection alice authenticated would be served as alice. The role turns it on.

The client is real curl (its own NTLM, a cookie jar as a browser keeps ARR's affinity cookie); what each
request got is read from the content server's answer (the lab's page names the user) and from the
content servers' own logs. Two sets of names: the demo's (a site alias per content server,
content1-web.camtest.local) and seed 000's taken literally (the servers' own names), which in NTLM mode
need no SPN and are therefore allowed.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import pytest

from harness.arr import CONTENT, add_sites, remove_farm
from harness.directory import admin_connection
from harness.nodes import Node
from harness.verification import audit, ids, lab_playbook

ARR1 = "127.0.0.31"
ALICE = ("CAMTEST\\alice", "Alice-Pa55!")
WEBOPS = ("CAMTEST\\webops", "WebOps-Pa55!")
ROLES = {"ARR1": "front_end", "CONTENT1": "content", "CONTENT2": "content"}
NAME_SETS = {
    "site-aliases": {"CONTENT1": "content1-web.camtest.local", "CONTENT2": "content2-web.camtest.local"},
    "servers-own-names": {"CONTENT1": "content1.camtest.local", "CONTENT2": "content2.camtest.local"},
}


@pytest.fixture(scope="module", params=sorted(NAME_SETS))
def farm(request, lab, tmp_path_factory):
    token = uuid.uuid4().hex[:6]
    public = "arrid-%s.camtest.local" % token
    context = {"tmp": tmp_path_factory.mktemp("arrid"), "public": public, "front": "arridf-%s" % token,
               "content": "arridc-%s" % token, "gpo": "arrid-%s-BatchLogon" % token,
               "farm_name": "arrid-%s-farm" % token, "names": NAME_SETS[request.param],
               "nodes": {n: Node(n) for n in ("ARR1",) + CONTENT}}
    context["audit_farm"] = {"name": "arrid-%s" % token, "kind": "arr", "mode": "ntlm", "names": [public],
                             "site": context["content"]}
    site_id = 40000 + int(token, 16) % 10000
    add_sites(context, site_id)
    try:
        run = converge(context)
        assert run.returncode == 0, run.stdout[-5000:] + run.stderr[-2000:]
        assert "shares its back-end connections" not in run.stdout + run.stderr, run.stderr[-5000:]
        yield context
    finally:
        cleanup = remove_farm(context)
        assert cleanup.returncode == 0, cleanup.stdout[-3000:]


def converge(context: dict) -> subprocess.CompletedProcess:
    role_vars = {"arr_farm_public_name": context["public"], "arr_farm_mode": "ntlm",
                 "arr_farm_identity": "CAMTEST\\user1", "arr_farm_identity_password": "User1-Pa55!",
                 "arr_farm_batch_logon_gpo": context["gpo"], "arr_farm_farm_name": context["farm_name"],
                 "arr_farm_frontend_site": context["front"], "arr_farm_frontend_app_pool": context["front"],
                 "arr_farm_content_site": context["content"], "arr_farm_content_app_pool": context["content"],
                 "arr_farm_summary": False}
    return lab_playbook(context["tmp"], "converge", [{
        "hosts": "arr_frontends:content_nodes", "gather_facts": False,
        "module_defaults": {"group/webfarm.winauth.ad": admin_connection()},
        "vars": {"content_names": context["names"],
                 "arr_farm_content_name": "{{ content_names[inventory_hostname] | default(ansible_host) }}"},
        "roles": [{"role": "webfarm.winauth.arr_farm"}]}], extra_vars=role_vars)


def curl(context: dict, user: tuple[str, str] | None = None, jar: Path | None = None) -> tuple[int, str]:
    """One real client: a new curl process, its own TCP connection to ARR1; NTLM when ``user`` is given."""
    args = ["curl", "-s", "-o", "-", "-w", "\n%{http_code}", "--max-time", "30", "--cacert", os.environ["LAB_CA_CERT"],
            "--resolve", "%s:443:%s" % (context["public"], ARR1)]
    if user:
        args += ["--ntlm", "-u", "%s:%s" % user]
    if jar:
        args += ["-b", str(jar), "-c", str(jar)]
    proc = subprocess.run(args + ["https://%s/" % context["public"]], capture_output=True, text=True, check=False,
                          timeout=60)
    body, _sep, code = proc.stdout.rpartition("\n")
    assert code.isdigit(), (proc.stdout, proc.stderr)
    return int(code), body


def served_users(context: dict) -> list[str]:
    """Who the content servers say they served since mark(), from their own logs."""
    return [d.get("user") or "" for name in CONTENT for d in context["nodes"][name].details() if d.get("status") == 200]


def sign_in(context: dict, user: tuple[str, str]) -> None:
    status, body = curl(context, user, jar=context["tmp"] / ("%s.jar" % user[0].split("\\")[1]))
    assert status == 200 and "user: %s" % user[0] in body, (status, body)


def test_after_alice_signs_in_no_other_client_is_served_as_alice(farm) -> None:
    for node in farm["nodes"].values():
        node.mark()
    sign_in(farm, ALICE)
    answers = [curl(farm) for attempt in range(12)]           # other clients: no credentials, no cookie
    assert [status for status, _body in answers] == [401] * 12, answers
    assert not any("alice" in body.lower() for _status, body in answers)
    for attempt in range(3):                           # another user, between alice's sign-ins
        status, body = curl(farm, WEBOPS, jar=farm["tmp"] / "webops.jar")
        assert status == 200 and "user: CAMTEST\\webops" in body and "alice" not in body.lower(), (status, body)
        sign_in(farm, ALICE)
    assert sorted(set(served_users(farm))) == ["CAMTEST\\alice", "CAMTEST\\webops"]
    assert served_users(farm).count("CAMTEST\\webops") == 3
    findings = audit(farm["tmp"], "arr_frontends:content_nodes", farm["audit_farm"], roles=ROLES)["findings"]
    assert not [f for f in findings if f["id"] == "shared_connection_identity"], findings


def test_a_farm_planted_with_the_unsafe_setting_is_found_and_the_role_repairs_it(farm) -> None:
    unsafe = lab_playbook(farm["tmp"], "unsafe", [{"hosts": "content_nodes", "gather_facts": False, "tasks": [
        {"webfarm.winauth.web_auth": {"site": farm["content"], "behind_proxy": True,
                                      "windows": {"auth_persist_single_request": False}}}]}])
    assert unsafe.returncode == 0, unsafe.stdout[-3000:]
    warned = (unsafe.stdout + unsafe.stderr).replace("\n", " ")   # one warning: Ansible shows a repeated one once
    assert "%s is reached through a proxy that shares its back-end connections between clients" % farm["content"] in \
        warned and "NTLM (authPersistSingleRequest=false)" in warned, warned[-4000:]
    findings = audit(farm["tmp"], "arr_frontends:content_nodes", farm["audit_farm"], roles=ROLES)["findings"]
    assert {("shared_connection_identity", "CONTENT1"), ("shared_connection_identity", "CONTENT2")} <= ids(
        findings, "error")
    # What the finding means, on the wire: once alice has signed in, an anonymous client is served as her.
    for node in farm["nodes"].values():
        node.mark()
    sign_in(farm, ALICE)
    answers = [curl(farm) for attempt in range(12)]
    leaked = [body for status, body in answers if status == 200]
    assert leaked and all("user: CAMTEST\\alice" in body for body in leaked), answers
    # The role puts it right, and the next run finds nothing.
    again = converge(farm)
    assert again.returncode == 0, again.stdout[-4000:]
    sign_in(farm, ALICE)
    assert [curl(farm)[0] for attempt in range(6)] == [401] * 6
    findings = audit(farm["tmp"], "arr_frontends:content_nodes", farm["audit_farm"], roles=ROLES)["findings"]
    assert not [f for f in findings if f["id"] == "shared_connection_identity"], findings


def test_extended_protection_on_the_content_servers_is_found_and_the_proxy_flag_clears_it(farm) -> None:
    """TLS ends on ARR1, so a content server's Extended Protection can only check the service name (Proxy flag).

    The lab's web endpoint does not enforce Extended Protection, so this shows the audit over the real connections
    and directory, not the 401 a Windows content server would answer."""
    def plant(protection: dict) -> None:
        run = lab_playbook(farm["tmp"], "ep", [{"hosts": "content_nodes", "gather_facts": False, "tasks": [
            {"webfarm.winauth.web_auth": {"site": farm["content"], "behind_proxy": True,
                                          "windows": {"extended_protection": protection}}}]}])
        assert run.returncode == 0, run.stdout[-3000:]

    def found() -> set:
        findings = audit(farm["tmp"], "arr_frontends:content_nodes", farm["audit_farm"], roles=ROLES)["findings"]
        return {(f["id"], f["node"], f["severity"]) for f in findings if f["id"].startswith("extended_protection")}

    try:
        plant({"token_checking": "Require"})
        assert found() == {("extended_protection_behind_tls_termination", node, "error") for node in CONTENT}
        plant({"token_checking": "Require", "flags": ["Proxy"], "spns": ["HTTP/other.camtest.local"]})
        assert found() == {("extended_protection_spn_list", node, "error") for node in CONTENT}
        plant({"token_checking": "Require", "flags": ["Proxy"], "spns": ["HTTP/%s" % farm["public"]]})
        assert found() == set()
    finally:
        plant({"token_checking": "None", "flags": [], "spns": []})
