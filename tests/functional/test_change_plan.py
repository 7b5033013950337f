"""The change_plan callback on the lab: the plan of a --check run, the record of the real run, their link.

The lb_farm role runs on SERVER1 and SERVER2 with a site, a pool, a virtual name and a batch-logon GPO of the
test's own (named after a token, removed at the end), first with --check --diff, then for real, both at -vvv with
the pool password as an extra var and the directory bind password in module_defaults: neither may appear in any of
the six files. Between the two runs SERVER2 is changed by hand, and the record must flag it. The HTML plan is
rendered by a real headless browser (Debian's firefox-esr); its screenshot stays under build/test-artifacts/.
Real here: Active Directory (Samba), Kerberos, WinRM; simulated: IIS's configuration engine on the nodes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from harness.ansible import REPO, run_playbook, write_playbook
from harness.directory import admin_connection, domain_dn, gplink_of, ldap_connection, sid_of, spns_of
from harness.lb_farm import NODES, POOL_PASSWORD, callback_env, own_lb_farm

ARTIFACTS = REPO / "build" / "test-artifacts" / "change-plan"
ARROW = "\u2192"


def spns_in_lower_case(account: str) -> list[str]:
    """The account's SPNs as the DC stores them, lower-cased and sorted (what the plays add is spelled both ways)."""
    return sorted(spn.lower() for spn in spns_of(account))


def write_play(directory: Path, name: str, plays: list[dict]) -> Path:
    return write_playbook(directory, name, plays)[0]


def files_of(directory: Path, stem: str) -> dict[str, str]:
    return {ext: (directory / ("%s.%s" % (stem, ext))).read_text(encoding="utf-8") for ext in ("md", "json", "html")}


@pytest.fixture()
def farm(lab, token, tmp_path):
    """A site and pool cp-<token> on both nodes, the names and GPO of this test; all removed afterwards."""
    with own_lb_farm(lab, token, tmp_path, "cp", 41000) as context:
        yield context


def test_plan_then_record_on_the_l4_farm(lab, farm) -> None:
    name, plans, secrets = farm["name"], farm["plans"], (POOL_PASSWORD, lab["LAB_ADMIN_PASSWORD"])
    spns_before = spns_in_lower_case("cam-svc")
    stored_before = spns_of("cam-svc")
    conn = ldap_connection()
    try:
        gplink_before = gplink_of(conn, "OU=WebServers,%s" % domain_dn()) or ""
    finally:
        conn.unbind()
    args = ("-i", os.environ["LAB_INVENTORY"], "-e", "lb_farm_service_account_password=%s" % POOL_PASSWORD, "-vvv")

    # 1. The plan: --check --diff, nothing written.
    run = run_playbook(str(farm["play"]), *args, "--check", "--diff", env=callback_env(plans, "lb"))
    assert run.returncode == 0, (run.stdout + run.stderr)[-6000:]
    assert "webfarm.winauth.change_plan: plan written: %s" % (plans / "lb.plan.md") in run.stdout
    assert spns_in_lower_case("cam-svc") == spns_before
    files = files_of(plans, "lb.plan")
    for text in files.values():
        for secret in secrets:
            assert secret not in text
    plan = json.loads(files["json"])
    assert plan["kind"] == "plan" and plan["mode"] == {"check": True, "diff": True}
    directory = [c["text"] for c in plan["directory"]["changes"]]
    assert "SPN HTTP/%s: register on cam-svc" % farm["virtual"] in directory
    assert "SPN HTTP/sso-%s: register on cam-svc" % name in directory
    assert "GPO %s: create (the directory assigns its GUID)" % farm["gpo"] in directory
    assert any(t.startswith("GPO %s would be linked to" % farm["gpo"]) for t in directory), directory
    groups = plan["nodes"]["groups"]
    assert [g["hosts"] for g in groups] == [list(NODES)], groups
    changes = [c["text"] for c in groups[0]["changes"]]
    for expected in ("Windows authentication at %s: off (inherited) %s on" % (name, ARROW),
                     "useAppPoolCredentials at %s: false (default) %s true" % (name, ARROW),
                     "Pool %s identity: ApplicationPoolIdentity %s CAMTEST\\cam-svc" % (name, ARROW)):
        assert expected in changes, changes
    assert any(t.startswith("Pool %s: restart" % name) or t.startswith("Pool %s: start" % name) for t in changes)
    titles = {r["title"]: r for r in plan["risks"]}
    assert titles["The pool depends on a domain account"]["where"] == list(NODES)
    assert "Tickets decrypted with the pool account's key" in titles and "503 until the right is effective" in titles
    right = plan["already_right"]
    assert "Check that the virtual name is no computer's own name: passed" in right["directory"]
    assert "HOST/%s: held by nobody" % farm["virtual"] in right["directory"]
    assert right["nodes"][0]["hosts"] == list(NODES)
    assert "Windows authentication providers at %s: Negotiate, NTLM (inherited)" % name in right["nodes"][0]["items"]
    assert plan["inputs"]["extra_vars"] == {"lb_farm_service_account_password": "(secret)"}
    assert plan["inputs"]["hosts"] == list(NODES)
    md = files["md"]
    assert md.index("## 1. Active Directory") < md.index("## 2. Nodes") < md.index("## 3. Risks") \
        < md.index("## 4. Read and found already right")
    assert "### SERVER1, SERVER2 (2 nodes, identical changes)" in md

    # The HTML plan in a real browser, headless; the screenshot is kept.
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(plans / "lb.plan.html", ARTIFACTS / "lb.plan.html")
    shot = screenshot(ARTIFACTS / "lb.plan.html", ARTIFACTS / "lb.plan.png")
    assert shot.stat().st_size > 30_000, "the page rendered (nearly) blank"

    # 2. Someone turns useAppPoolCredentials on at SERVER2's site by hand after the plan.
    by_hand = write_play(farm["tmp"], "by_hand", [{
        "name": "by hand", "hosts": "SERVER2", "gather_facts": False,
        "tasks": [{"webfarm.winauth.web_auth": {"site": name, "windows": {"use_app_pool_credentials": True}}}]}])
    run = run_playbook(str(by_hand), "-i", os.environ["LAB_INVENTORY"])
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]

    # 3. The real run and its record, linked to the plan.
    run = run_playbook(str(farm["play"]), *args, "--diff", env=callback_env(plans, "lb"))
    assert run.returncode == 0, (run.stdout + run.stderr)[-6000:]
    assert "record written: %s" % (plans / "lb.record.md") in run.stdout
    assert "NOT as planned: 1 difference(s)" in run.stdout
    files = files_of(plans, "lb.record")
    for text in files.values():
        for secret in secrets:
            assert secret not in text
    record = json.loads(files["json"])
    link = record["link"]
    assert link["found"] and link["same_inputs"] and not link["as_planned"]
    assert link["plan"]["id"] == plan["id"] and link["plan_file"] == "lb.plan.json"
    assert [(d["host"], d["task"], d["text"]) for d in link["differences"]] == [
        ("SERVER2", "Node | Windows authentication, pool identity and batch-logon right", "different edits from the plan's")]
    assert "set useAppPoolCredentials=true" in link["differences"][0]["planned"]
    assert "set useAppPoolCredentials=true" not in link["differences"][0]["done"]
    assert sorted(g["hosts"] for g in record["nodes"]["groups"]) == [["SERVER1"], ["SERVER2"]]
    done = [c["text"] for c in record["directory"]["changes"]]
    assert any(t.startswith("GPO %s: create ({" % farm["gpo"]) for t in done), done
    assert any("Log on as a batch job (SeBatchLogonRight)" in t for t in done), done
    assert any(t.startswith("GPO %s: link to OU=WebServers" % farm["gpo"]) for t in done), done
    assert sorted(record["summaries"]) == list(NODES)
    assert "applied" in record["summaries"]["SERVER1"][0]
    assert "Did what the plan said: NO" in files["md"] and "different edits from the plan&#x27;s" in files["html"]
    shutil.copy(plans / "lb.record.html", ARTIFACTS / "lb.record.html")
    assert screenshot(ARTIFACTS / "lb.record.html", ARTIFACTS / "lb.record.png").stat().st_size > 30_000
    assert spns_in_lower_case("cam-svc") == sorted(spns_before + ["http/%s" % farm["virtual"], "http/sso-%s" % name])
    assert plan["journal"] is None
    check_journal(record["journal"], farm, stored_before, gplink_before)


def check_journal(journal: dict, farm: dict, stored_before: list[str], gplink_before: str) -> None:
    """The record's journal: for each object and node the run changed, the values before (no secret)."""
    name = farm["name"]
    assert journal["unrecorded"] == []
    entries = journal["entries"]
    by_kind: dict[str, list[dict]] = {}
    for entry in entries:
        by_kind.setdefault(entry["kind"], []).append(entry)
    account, = [e for e in by_kind["spn_account"] if e["account"]["sam_account_name"] == "cam-svc"]
    assert account["plane"] == "directory" and account["restorable"] is True
    assert account["account"]["object_sid"] == sid_of("cam-svc")
    assert sorted(account["before"]["spns"]) == sorted(stored_before)      # as the DC stored them, before the run
    assert {v.lower() for v in account["after"]["spns"]} == {v.lower() for v in stored_before} | {
        "http/%s" % farm["virtual"], "http/sso-%s" % name}
    gpo, = [e for e in by_kind["gpo"] if e["gpo"]["name"] == farm["gpo"]]
    assert gpo["created"] is True and gpo["before"]["existed"] is False
    right, = by_kind["user_right"]
    assert right["right"] == "SeBatchLogonRight" and right["before"]["defined"] is False
    link, = by_kind["gpo_link"]
    assert link["created"] is True and link["before"]["gplink"] == gplink_before
    assert link["target"].lower() == ("OU=WebServers,%s" % domain_dn()).lower()
    nodes = [e for e in entries if e["plane"] == "node"]
    assert {e["host"] for e in nodes} == set(NODES)
    wa = "system.webServer/security/authentication/windowsAuthentication"
    for host in NODES:
        enabled, = [e for e in nodes if e["host"] == host and e["kind"] == "iis_attribute"
                    and e["iis"]["section"] == wa and e["iis"]["name"] == "enabled"]
        assert enabled["iis"]["location"] == name
        assert enabled["before"] == {"value": False, "source": "inherited"}, enabled
        assert enabled["after"]["value"] is True
        secret, = [e for e in nodes if e["host"] == host and e["kind"] == "iis_secret"]
        assert secret["restorable"] is False and "never recorded" in secret["reason"]
        assert secret["before"] == {"set": False}
        identity, = [e for e in nodes if e["host"] == host and e["kind"] == "pool_identity"]
        assert identity["before"]["identity"] == "ApplicationPoolIdentity"
    # SERVER2's useAppPoolCredentials was set by hand before the run: the run did not change it, so only
    # SERVER1 journals it, with its value before (the schema default)
    uapc = [(e["host"], e["before"]) for e in nodes if e["kind"] == "iis_attribute"
            and e["iis"]["name"] == "useAppPoolCredentials"]
    assert uapc == [("SERVER1", {"value": False, "source": "default"})], uapc


def screenshot(page: Path, png: Path) -> Path:
    """Debian's firefox-esr renders the page headless to a PNG (a profile of its own, no network needed)."""
    browser = shutil.which("firefox-esr")
    assert browser, "firefox-esr is missing: make deps installs it (bindep.txt, profile test)"
    profile = png.parent / "firefox-profile"
    shutil.rmtree(profile, ignore_errors=True)
    profile.mkdir(parents=True)
    png.unlink(missing_ok=True)
    run = subprocess.run([browser, "--headless", "--no-remote", "--profile", str(profile), "--window-size=1200,2600",
                          "--screenshot", str(png), page.resolve().as_uri()], capture_output=True, text=True,
                         timeout=120, check=False, env=dict(os.environ, MOZ_HEADLESS="1"))
    shutil.rmtree(profile, ignore_errors=True)
    assert run.returncode == 0 and png.exists(), run.stdout + run.stderr
    return png


def test_the_hostname_trap_refusal_is_in_the_plan(lab, tmp_path) -> None:
    play = write_play(tmp_path, "trap", [{
        "name": "trap", "hosts": "lb_nodes", "gather_facts": False,
        "module_defaults": {"group/webfarm.winauth.ad": admin_connection(lab)},
        "roles": [{"role": "webfarm.winauth.lb_farm", "vars": {
            "lb_farm_virtual_name": "server1.%s" % lab["LAB_DNS_DOMAIN"], "lb_farm_service_account": "CAMTEST\\cam-svc",
            "lb_farm_service_account_password": POOL_PASSWORD}}]}])
    run = run_playbook(str(play), "-i", os.environ["LAB_INVENTORY"], "--check", "--diff",
                       env=callback_env(tmp_path / "plans", "trap"))
    assert run.returncode != 0
    files = files_of(tmp_path / "plans", "trap.plan")
    plan = json.loads(files["json"])
    assert plan["failures"][0]["message"].startswith(
        "The hostname trap - server1.camtest.local is the own name of computer SERVER1$")
    assert plan["directory"]["changes"] == [] and plan["nodes"]["groups"] == []
    assert "> **Attention:** The run stopped: Directory | Check that the virtual name is no computer's own name" \
        in files["md"]
    assert '<div class="banner stop"><b>Attention:</b>The run stopped' in files["html"]
    for text in files.values():
        assert POOL_PASSWORD not in text and lab["LAB_ADMIN_PASSWORD"] not in text
