"""The structured before- and after-state the IIS planners keep for the change record's journal (never a secret)."""

from __future__ import annotations

import json

from _twin import apply, new_node, read
from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis.app_pool import (
    APP_POOL_SPEC,
    app_pool_report,
    app_pool_targets,
    plan_app_pool,
)
from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis.config import Plan
from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis.web_auth import plan_web_auth, web_auth_targets

WA = "system.webServer/security/authentication/windowsAuthentication"
SITE = "Default Web Site"
SECRET = "Pool-Pa55-word!"


def web_auth_plan(node, windows=None, anonymous=None) -> Plan:
    plan = Plan()
    plan_web_auth(plan, read(node, web_auth_targets(SITE, None, anonymous)), SITE, None, windows, anonymous)
    return plan


def by_object(entries):
    return {entry["object"]: entry for entry in entries}


def test_attributes_keep_value_and_source_and_collections_their_items(tmp_path) -> None:
    node = new_node(tmp_path)
    plan = web_auth_plan(node, {"enabled": True, "use_app_pool_credentials": True, "providers": ["NTLM"]})
    sides = plan.sides()
    before, after = by_object(sides["before"]), by_object(sides["after"])
    enabled = before["iis:%s@%s::enabled" % (WA, SITE)]
    # windowsAuthentication is off at the server and not set at the site: inherited, not local
    assert (enabled["kind"], enabled["value"], enabled["source"]) == ("attribute", False, "inherited")
    assert enabled["section"] == WA and enabled["location"] == SITE and enabled["path"] == []
    assert before["iis:%s@%s::useAppPoolCredentials" % (WA, SITE)]["source"] in ("default", "inherited")
    assert after["iis:%s@%s::enabled" % (WA, SITE)]["value"] is True
    providers = before["iis:%s@%s:providers:providers" % (WA, SITE)]
    assert providers["kind"] == "collection"
    assert [i["values"] for i in providers["items"]] == [{"value": "Negotiate"}, {"value": "NTLM"}]
    assert all(i["inherited"] for i in providers["items"])
    assert [i["values"] for i in after["iis:%s@%s:providers:providers" % (WA, SITE)]["items"]] == [{"value": "NTLM"}]
    assert len(sides["before"]) == len(sides["after"]) == len(plan.journal)
    apply(node, plan.edits)
    # a second run changes nothing and keeps no journal
    again = web_auth_plan(node, {"enabled": True, "use_app_pool_credentials": True, "providers": ["NTLM"]})
    assert again.edits == [] and again.sides() == {"before": [], "after": []}
    # the value just written is now local
    turned = web_auth_plan(node, {"enabled": False})
    assert by_object(turned.sides()["before"])["iis:%s@%s::enabled" % (WA, SITE)]["source"] == "local"


def pool_args(**given):
    values = {name: spec.get("default") for name, spec in APP_POOL_SPEC.items()}
    values.update(given)
    return values


def test_app_pool_identity_password_and_runtime_before_without_a_secret(tmp_path) -> None:
    node = new_node(tmp_path)
    wanted = pool_args(name="sso", identity="SpecificUser", username="CAMTEST\\cam-svc", password=SECRET,
                       state="started")
    states = read(node, app_pool_targets(wanted))
    plan = plan_app_pool(wanted, states)
    kinds = {(e["kind"], e["name"]) for e in plan.journal}
    assert ("item", "add") in kinds and ("secret", "password") in kinds and ("runtime", "state") in kinds
    secret = next(e for e in plan.journal if e["kind"] == "secret")
    assert secret["before"] == {"set": False} and secret["after"] == {"set": True, "changed": True}
    runtime = next(e for e in plan.journal if e["kind"] == "runtime")
    assert runtime["before"] == {"state": None, "exists": False} and runtime["after"] == {"state": "Started"}
    apply(node, plan.edits)
    other = pool_args(name="sso", identity="SpecificUser", username="CAMTEST\\user1", password="Other-Pa55!",
                      state="stopped")
    states = read(node, app_pool_targets(other))
    plan = plan_app_pool(other, states)
    report = app_pool_report(other, states, plan)
    assert (report["identity_before"], report["username_before"], report["password_changed"]) == (
        "SpecificUser", "CAMTEST\\cam-svc", True)
    entries = by_object(plan.sides()["before"])
    user = next(e for o, e in entries.items() if o.endswith(":userName"))
    assert (user["value"], user["source"]) == ("CAMTEST\\cam-svc", "local")
    runtime = next(e for e in plan.journal if e["kind"] == "runtime")
    assert runtime["before"] == {"state": "Started", "exists": True} and runtime["after"] == {"state": "Stopped"}
    text = json.dumps(plan.sides()) + json.dumps(report)
    assert SECRET not in text and "Other-Pa55!" not in text
    again = pool_args(name="sso", identity="SpecificUser", username="CAMTEST\\user1", password="Other-Pa55!",
                      state="stopped")
    apply(node, plan.edits)
    states = read(node, app_pool_targets(again))
    assert app_pool_report(again, states, plan_app_pool(again, states))["password_changed"] is False
