"""Desired-state planning for IIS configuration (pure logic), on read results the lab twin produced.

The read results come from the twin's engine run on a fresh lab node's applicationHost.config,
so they have exactly the contract's shape; the edits planned here are applied with the same
engine to prove they reach the desired state and that a second plan is empty.
"""

from __future__ import annotations

import pytest

from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis.config import (
    Plan,
    PlanError,
    SecretCheck,
    SectionState,
    Target,
    plan_attributes,
    plan_collection,
    plan_item,
    read_request,
)
from winauth_lab.iis import initial_config
from winauth_lab.iis.config import ConfigEngine

WA = "system.webServer/security/authentication/windowsAuthentication"
POOLS = "system.applicationHost/applicationPools"
SITE = "Default Web Site"
SECRET = "Correct-Horse-9!"


@pytest.fixture()
def engine() -> ConfigEngine:
    return ConfigEngine(initial_config("SERVER1").encode("utf-8"))


def read(engine: ConfigEngine, *targets: Target) -> list[SectionState]:
    request = read_request(targets)
    return [SectionState.from_result(t, engine.read(r)) for t, r in zip(targets, request["sections"])]


def test_read_request_carries_paths_and_secret_checks() -> None:
    target = Target(POOLS, "", ({"name": "p"},), (SecretCheck(({"name": "p"}, "processModel"), "password", "x"),))
    assert read_request([target]) == {"op": "read", "sections": [{
        "section": POOLS, "location": "", "path": [{"name": "p"}],
        "compare": [{"path": [{"name": "p"}, "processModel"], "attribute": "password", "value": "x"}]}]}
    assert "x" not in repr(target)


def test_windows_auth_at_a_site_plans_sets_and_a_readable_diff(engine: ConfigEngine) -> None:
    state, = read(engine, Target(WA, SITE))
    plan = Plan()
    plan_attributes(plan, state, [], {"enabled": True, "useAppPoolCredentials": "true", "useKernelMode": False,
                                      "authPersistNonNTLM": None})
    assert [(e["op"], e["attribute"], e["value"]) for e in plan.edits] == [
        ("set", "enabled", True), ("set", "useAppPoolCredentials", True), ("set", "useKernelMode", False)]
    assert all(e["section"] == WA and e["location"] == SITE and e["path"] == [] for e in plan.edits)
    diff = plan.diff()
    assert diff["before"] == ("[%s @ %s]\nenabled = false (inherited)\nuseAppPoolCredentials = false (default)\n"
                              "useKernelMode = true (default)\n" % (WA, SITE))
    assert diff["after"] == "[%s @ %s]\nenabled = true\nuseAppPoolCredentials = true\nuseKernelMode = false\n" % (
        WA, SITE)
    assert plan.summary[0] == "set enabled=true (%s @ %s)" % (WA, SITE)
    engine.apply(plan.edits)
    state, = read(engine, Target(WA, SITE))
    again = Plan()
    plan_attributes(again, state, [], {"enabled": True, "useAppPoolCredentials": True, "useKernelMode": False})
    assert again.edits == [] and not again.changed
    assert again.diff()["before"] == again.diff()["after"]


def test_invalid_desired_values_name_the_setting(engine: ConfigEngine) -> None:
    state, = read(engine, Target(WA, SITE))
    with pytest.raises(PlanError, match="web_auth: enabled must be true or false"):
        plan_attributes(Plan(), state, [], {"enabled": "sometimes"}, label="web_auth")
    with pytest.raises(PlanError, match="windowsAuthentication has no attribute useKernel"):
        plan_attributes(Plan(), state, [], {"useKernel": True})


def test_providers_exact_order(engine: ConfigEngine) -> None:
    state, = read(engine, Target(WA, SITE))
    plan = Plan()
    plan_collection(plan, state, ["providers"], [{"value": "Negotiate"}, {"value": "NTLM"}])
    assert plan.edits == [] and plan.before == plan.after
    assert plan.before["%s @ %s providers" % (WA, SITE)] == ["providers = Negotiate, NTLM (inherited)"]
    plan = Plan()
    plan_collection(plan, state, ["providers"], [{"value": "NTLM"}])
    assert [(e["op"], e.get("item")) for e in plan.edits] == [("clear", None), ("add", {"value": "NTLM"})]
    assert plan.after["%s @ %s providers" % (WA, SITE)] == ["providers = NTLM"]
    engine.apply(plan.edits)
    state, = read(engine, Target(WA, SITE))
    plan = Plan()
    plan_collection(plan, state, ["providers"], [{"value": "ntlm"}])
    assert plan.edits == []
    server, = read(engine, Target(WA))
    plan = Plan()
    plan_collection(plan, server, ["providers"], [{"value": "Negotiate"}, {"value": "NTLM"}])
    assert plan.edits == []


def test_collection_present_and_absent(engine: ConfigEngine) -> None:
    state, = read(engine, Target(WA, SITE))
    plan = Plan()
    plan_collection(plan, state, ["extendedProtection"], [{"name": "HTTP/sso.camtest.local"}], mode="present")
    assert [(e["op"], e["path"], e["item"]) for e in plan.edits] == [
        ("add", ["extendedProtection"], {"name": "HTTP/sso.camtest.local"})]
    engine.apply(plan.edits)
    state, = read(engine, Target(WA, SITE))
    plan = Plan()
    plan_collection(plan, state, ["extendedProtection"], [{"name": "http/SSO.camtest.local"}], mode="present")
    assert plan.edits == []
    plan_collection(plan, state, ["extendedProtection"], [{"name": "HTTP/sso.camtest.local"}], mode="absent")
    assert [(e["op"], e["key"]) for e in plan.edits] == [("remove", {"name": "HTTP/sso.camtest.local"})]
    with pytest.raises(PlanError, match="unknown collection mode"):
        plan_collection(Plan(), state, ["providers"], [], mode="sorted")


def test_new_pool_with_identity_and_secret(engine: ConfigEngine) -> None:
    key = {"name": "cam-pool"}
    checks = (SecretCheck((key, "processModel"), "password", SECRET),)
    state, = read(engine, Target(POOLS, "", (), checks))
    plan = Plan()
    plan_item(plan, state, [], key, {"managedRuntimeVersion": "", "startMode": "alwaysrunning"},
              {"processModel": {"identityType": "SpecificUser", "userName": "CAMTEST\\cam-svc", "password": SECRET}})
    assert [e["op"] for e in plan.edits] == ["add", "set", "set", "set"]
    assert plan.edits[0]["item"] == {"name": "cam-pool", "managedRuntimeVersion": "", "startMode": "AlwaysRunning"}
    assert plan.edits[3] == {"op": "set", "section": POOLS, "location": "", "path": [key, "processModel"],
                             "attribute": "password", "value": SECRET}
    shown = repr(plan.diff()) + repr(plan.summary)
    assert SECRET not in shown
    assert "password = (secret, not set)" in plan.diff()["before"]
    assert "password = (secret, changed)" in plan.diff()["after"]
    assert "set password (secret)" in plan.summary[3]
    engine.apply(plan.edits)
    state, = read(engine, Target(POOLS, "", (), checks))
    plan = Plan()
    plan_item(plan, state, [], key, {"managedRuntimeVersion": "", "startMode": "AlwaysRunning"},
              {"processModel": {"identityType": "specificuser", "userName": "camtest\\CAM-SVC", "password": SECRET}})
    assert plan.edits == []
    assert "password = (secret, unchanged)" in plan.diff()["after"]
    wrong = (SecretCheck((key, "processModel"), "password", "old"),)
    state, = read(engine, Target(POOLS, "", (), wrong))
    plan = Plan()
    plan_item(plan, state, [], key, None, {"processModel": {"password": "old"}})
    assert [(e["attribute"]) for e in plan.edits] == ["password"]


def test_secrets_need_a_host_side_comparison(engine: ConfigEngine) -> None:
    engine.apply([{"op": "add", "section": POOLS, "location": "", "path": [], "item": {"name": "p"}}])
    state, = read(engine, Target(POOLS))
    with pytest.raises(PlanError, match="no host-side comparison"):
        plan_item(Plan(), state, [], {"name": "p"}, None, {"processModel": {"password": "x"}})
    with pytest.raises(PlanError, match="add items have no attribute password"):
        plan_item(Plan(), state, [], {"name": "q"}, {"password": "x"})
    sites, = read(engine, Target("system.applicationHost/sites", "", ({"name": SITE}, {"path": "/"})))
    with pytest.raises(PlanError, match="set password through children or a set edit, not on add"):
        plan_item(Plan(), sites, [], {"path": "/files"}, {"physicalPath": "C:\\files", "password": "x"})
