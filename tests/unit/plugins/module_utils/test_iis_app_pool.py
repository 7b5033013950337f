"""Application pool planning (pure), on states read from the lab twin and applied back to it."""

from __future__ import annotations

import pytest

from _twin import add_application, apply, new_node, read
from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis.app_pool import (
    APP_POOL_SPEC,
    app_pool_report,
    app_pool_targets,
    check_app_pool,
    plan_app_pool,
)
from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis.config import PlanError

SECRET = "Pool-Pa55-word!"
WA = "system.webServer/security/authentication/windowsAuthentication"


def args(**given):
    values = {name: spec.get("default") for name, spec in APP_POOL_SPEC.items()}
    values.update(given)
    return values


def plan_for(node, **given):
    wanted = args(**given)
    states = read(node, app_pool_targets(wanted))
    return plan_app_pool(wanted, states), app_pool_report(wanted, states, plan_app_pool(wanted, states))


def test_targets_read_everything_in_one_call() -> None:
    targets = app_pool_targets(args(name="sso", username="CAMTEST\\cam-svc", password=SECRET))
    assert [(t.section.rsplit("/", 1)[-1], t.path, t.state, t.each_application) for t in targets] == [
        ("applicationPools", (), False, False), ("applicationPools", ({"name": "sso"},), True, False),
        ("sites", (), False, False), ("windowsAuthentication", (), False, True)]
    assert targets[0].request()["compare"][0]["attribute"] == "password"
    on_create = app_pool_targets(args(name="sso", username="CAMTEST\\cam-svc", password=SECRET,
                                      update_password="on_create"))
    assert "compare" not in on_create[0].request()      # the password is not even sent for a comparison
    assert SECRET not in repr(targets)


def test_create_with_identity_settings_and_start_then_nothing_to_do(tmp_path) -> None:
    node = new_node(tmp_path)
    wanted = {"name": "sso", "identity": "SpecificUser", "username": "CAMTEST\\cam-svc", "password": SECRET,
              "load_user_profile": True, "idle_timeout": "0",
              "periodic_restart": {"time": "00:00:00", "schedule": ["3:00:00"]},
              "managed_runtime_version": "", "state": "started"}
    plan, report = plan_for(node, **wanted)
    assert [(e["op"], e.get("attribute")) for e in plan.edits] == [
        ("add", None), ("set", "loadUserProfile"), ("set", "idleTimeout"), ("set", "identityType"),
        ("set", "userName"), ("set", "password"), ("set", "time"), ("clear", None), ("add", None), ("start", None)]
    assert plan.edits[0]["item"] == {"name": "sso", "managedRuntimeVersion": ""}
    assert report == {"name": "sso", "existed": False, "exists": True, "runtime_state": "Started",
                      "runtime_state_before": None, "identity": "SpecificUser", "username": "CAMTEST\\cam-svc",
                      "applications": [], "identity_before": None, "username_before": None,
                      "password_changed": True}
    assert SECRET not in repr(plan.diff()) + repr(plan.sides()) + repr(plan.summary) + repr(report)
    assert "password = (secret, changed)" in plan.diff()["after"]
    result = apply(node, plan.edits)
    assert result["results"][-1] == {"index": 9, "changed": False, "before": "Started", "after": "Started"}
    text = node.application_host_config.read_text(encoding="utf-8")
    assert 'idleTimeout="00:00:00"' in text and 'value="03:00:00"' in text and SECRET not in text
    again, report = plan_for(node, **wanted)
    assert again.edits == [] and report["runtime_state"] == "Started" and report["existed"] is True
    changed, _report = plan_for(node, **{**wanted, "password": "Other-1!"})
    assert [e.get("attribute") for e in changed.edits] == ["password"]
    on_create, _report = plan_for(node, **{**wanted, "password": "Other-1!", "update_password": "on_create"})
    assert on_create.edits == []


def test_runtime_states(tmp_path) -> None:
    node = new_node(tmp_path)
    apply(node, plan_for(node, name="p", state="present")[0].edits)
    stop, report = plan_for(node, name="p", state="stopped")
    assert [e["op"] for e in stop.edits] == ["stop"] and report["runtime_state"] == "Stopped"
    assert stop.diff() == {"before": "[application pool p (runtime)]\nstate = Started\n",
                           "after": "[application pool p (runtime)]\nstate = Stopped (stop)\n"}
    apply(node, stop.edits)
    assert plan_for(node, name="p", state="stopped")[0].edits == []
    assert [e["op"] for e in plan_for(node, name="p", state="recycled")[0].edits] == ["start"]
    assert [e["op"] for e in plan_for(node, name="p", state="restarted")[0].edits] == ["start"]
    apply(node, plan_for(node, name="p", state="started")[0].edits)
    assert [e["op"] for e in plan_for(node, name="p", state="restarted")[0].edits] == ["stop", "start"]
    assert [e["op"] for e in plan_for(node, name="p", state="recycled")[0].edits] == ["recycle"]
    assert plan_for(node, name="p", state="present")[0].edits == []
    assert [e["op"] for e in plan_for(node, name="new", state="stopped")[0].edits] == ["add", "stop"]


def test_identity_changes_and_stale_secrets(tmp_path) -> None:
    node = new_node(tmp_path)
    apply(node, plan_for(node, name="p", username="CAMTEST\\cam-svc", password=SECRET)[0].edits)
    with pytest.raises(PlanError, match=r"password is required to run application pool p as CAMTEST\\user1 \(the pool "
                                        r"changes account from CAMTEST\\cam-svc\)"):
        plan_for(node, name="p", username="CAMTEST\\user1")
    moved, _report = plan_for(node, name="p", username="CAMTEST\\user1", password=SECRET, update_password="on_create")
    assert [(e.get("attribute"), e.get("value") == SECRET) for e in moved.edits] == [
        ("userName", False), ("password", True)]
    gmsa, report = plan_for(node, name="p", username="CAMTEST\\web-gmsa$")
    assert [(e["attribute"], e["value"]) for e in gmsa.edits] == [("userName", "CAMTEST\\web-gmsa$"), ("password", "")]
    assert "password = (secret, cleared)" in gmsa.diff()["after"] and report["username"] == "CAMTEST\\web-gmsa$"
    builtin, report = plan_for(node, name="p", identity="NetworkService")
    assert [(e["attribute"], e["value"]) for e in builtin.edits] == [
        ("identityType", "NetworkService"), ("userName", ""), ("password", "")]
    assert report["identity"] == "NetworkService" and report["username"] is None
    # settings other than the identity leave a pool's identity alone, whatever it is
    assert [e["attribute"] for e in plan_for(node, name="p", idle_timeout="00:05:00")[0].edits] == ["idleTimeout"]


@pytest.mark.parametrize("given, message", [
    (dict(name="a/b"), "name='a/b': name"),
    (dict(name="p", identity="NetworkService", username="CAMTEST\\x"), "username='CAMTEST\\\\x' applies only to "
                                                                       "identity=SpecificUser"),
    (dict(name="p", identity="SpecificUser"), "identity=SpecificUser needs username"),
    (dict(name="p", password=SECRET), "password is given without username"),
    (dict(name="p", username="CAMTEST\\gmsa$", password=SECRET), "is a group managed service account"),
    (dict(name="p", username="A\\B\\c"), "is not an account name"),
    (dict(name="p", idle_timeout="forever"), "idle_timeout='forever'"),
    (dict(name="p", periodic_restart={"schedule": ["03:00", "3:00:00"]}), "lists a time twice"),
    (dict(name="p", periodic_restart={"requests": -1}), "periodic_restart.requests=-1"),
    (dict(name="p", state="absent", identity="NetworkService"), "state=absent removes the pool; identity"),
])
def test_bad_input_is_refused_before_anything_is_read(given, message) -> None:
    with pytest.raises(PlanError) as caught:
        check_app_pool(args(**given))
    assert message in str(caught.value)
    assert SECRET not in str(caught.value)


def test_domain_identity_warns_about_sites_that_decrypt_with_machine_keys(tmp_path) -> None:
    node = new_node(tmp_path)
    apply(node, plan_for(node, name="sso")[0].edits)
    add_application(node, "/app", "sso")
    apply(node, [{"op": "set", "section": WA, "location": "Default Web Site/app", "path": [], "attribute": "enabled",
                  "value": True}])
    plan, report = plan_for(node, name="sso", username="CAMTEST\\cam-svc", password=SECRET)
    assert report["applications"] == ["Default Web Site/app"]
    assert plan.warnings == [
        "application pool sso runs as CAMTEST\\cam-svc, but Windows authentication at Default Web Site/app has "
        "useKernelMode=true and useAppPoolCredentials=false: HTTP.sys decrypts Kerberos tickets there with the "
        "computer account's keys, so tickets for an SPN registered on CAMTEST\\cam-svc fail (401). Set "
        "useAppPoolCredentials=true with webfarm.winauth.web_auth (windows.use_app_pool_credentials), or turn "
        "kernel mode off."]
    apply(node, [{"op": "set", "section": WA, "location": "Default Web Site/app", "path": [],
                  "attribute": "useAppPoolCredentials", "value": True}])
    assert plan_for(node, name="sso", username="CAMTEST\\cam-svc", password=SECRET)[0].warnings == []
    assert plan_for(node, name="sso", identity="NetworkService")[0].warnings == []


def test_absent_removes_and_warns_about_users(tmp_path) -> None:
    node = new_node(tmp_path)
    apply(node, plan_for(node, name="old")[0].edits)
    add_application(node, "/legacy", "old")
    plan, report = plan_for(node, name="old", state="absent")
    assert [(e["op"], e["key"]) for e in plan.edits] == [("remove", {"name": "old"})]
    assert plan.warnings == ["application pool old is removed while Default Web Site/legacy still use it: they answer "
                             "503 until they are moved to another pool"]
    assert report == {"name": "old", "existed": True, "exists": False, "applications": ["Default Web Site/legacy"]}
    apply(node, plan.edits)
    assert plan_for(node, name="old", state="absent")[0].edits == []
