"""web_node planning (pure): one read split between the web_auth and app_pool planners, the pool check, the
rights and the restart that rides in the apply; on states read from the lab twin and applied back to it."""

from __future__ import annotations

import re

import pytest

from _twin import apply, new_node, read
from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis.config import PlanError
from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis.policy_refresh import missing_rights
from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis.web_node import (
    WEB_NODE_SPEC,
    check_web_node,
    node_report,
    plan_web_node,
    rights_of,
    wants_refresh,
    web_node_targets,
)

SECRET = "Pool-Pa55-word!"
ACCOUNT = "CAMTEST\\cam-svc"


def args(**given):
    values = {name: spec.get("default") for name, spec in WEB_NODE_SPEC.items()}
    values.update(site="Default Web Site", windows={"enabled": True, "use_app_pool_credentials": True},
                  anonymous={"enabled": False},
                  app_pool={"name": "DefaultAppPool", "identity": "SpecificUser", "username": ACCOUNT,
                            "password": SECRET, "update_password": "always", "must_serve": True},
                  require={"SeBatchLogonRight": [ACCOUNT]}, restart="restarted")
    values.update(given)
    return values


def plan_for(node, wanted, refresh=False, held=True):
    check_web_node(wanted)
    targets, split = web_node_targets(wanted)
    states = read(node, targets)
    plan = plan_web_node(wanted, states, split, refresh, held)
    return plan, node_report(wanted, states, split, plan)


def test_one_read_holds_both_planners_targets_and_the_restart_rides_only_with_a_change(tmp_path) -> None:
    node = new_node(tmp_path)
    wanted = args()
    targets, split = web_node_targets(wanted)
    assert split == 4 and len(targets) == 8      # web_auth's four, then app_pool's four
    plan, report = plan_for(node, wanted)
    ops = [e["op"] for e in plan.edits]
    assert ops[-2:] == ["stop", "start"] and "set" in ops
    assert report["authentication"] == {"managed": True, "changed": True}
    assert report["app_pool"]["changed"] and report["app_pool"]["restarted"]
    assert SECRET not in repr(plan.diff()) + repr(plan.sides()) + repr(plan.summary) + repr(report)
    apply(node, plan.edits)
    again, report = plan_for(node, wanted)
    assert again.edits == [] and not report["authentication"]["changed"]
    assert not report["app_pool"]["changed"] and not report["app_pool"]["restarted"]
    refreshed, _report = plan_for(node, wanted, refresh=True)
    assert [e["op"] for e in refreshed.edits] == ["stop", "start"]    # a right that just arrived: restart


def test_no_restart_when_the_identity_lacks_its_right(tmp_path) -> None:
    plan, report = plan_for(new_node(tmp_path), args(), held=False)
    assert plan.edits and not any(e["op"] in ("start", "stop", "recycle") for e in plan.edits)
    assert not report["app_pool"]["restarted"]


def test_a_pool_that_does_not_serve_the_site_fails_before_any_write(tmp_path) -> None:
    node = new_node(tmp_path)
    with pytest.raises(PlanError, match=r"app_pool.name=OtherPool: Default Web Site does not run in that "
                                        r"application pool \(there is no such pool\)"):
        plan_for(node, args(app_pool=dict(args()["app_pool"], name="OtherPool")))
    plan, _report = plan_for(node, args(app_pool=dict(args()["app_pool"], name="OtherPool", must_serve=False)))
    assert plan.edits


def test_bad_input_names_the_option_before_any_read() -> None:
    with pytest.raises(PlanError, match="restart=recycled restarts the application pool, but app_pool"):
        check_web_node(args(app_pool=None, restart="recycled"))
    with pytest.raises(PlanError, match="needs something to manage"):
        check_web_node(args(windows=None, anonymous=None, app_pool=None, require=None))
    with pytest.raises(Exception, match="require: "):
        check_web_node(args(require={"LogOnAsBatch": [ACCOUNT]}))
    with pytest.raises(Exception, match="wait=900"):
        check_web_node(args(refresh_wait=900))


def test_rights_missing_and_when_policy_is_refreshed() -> None:
    rights, required = rights_of(args(rights=["sebatchlogonright", "SeServiceLogonRight"]))
    assert rights == ["SeBatchLogonRight", "SeServiceLogonRight"] and required == {"SeBatchLogonRight": [ACCOUNT]}
    held = {"SeBatchLogonRight": [{"sid": "S-1-5-21-1-2-3-1105", "name": ACCOUNT}]}
    assert missing_rights(held, required) == {}
    missing = missing_rights({"SeBatchLogonRight": []}, required)
    assert missing == {"SeBatchLogonRight": [ACCOUNT]}
    assert [wants_refresh(args(policy_refresh=mode), found) for mode in ("never", "missing", "always")
            for found in ({}, missing)] == [False, False, False, True, True, True]


@pytest.mark.parametrize("site,application,word", [
    ("", None, "site=''"), ("  ", None, "site='  '"), ('Default Web Site"/><x', None, "site="),
    ("Site?x", None, "site="), ("Default Web Site", "../../x", "application="), ("Default Web Site", "/a/./b", "application="),
    ("Default Web Site", "/app\nx", "application=")])
def test_site_and_application_are_checked_before_any_read(site, application, word) -> None:
    with pytest.raises(PlanError, match=re.escape(word) + ".*Fix: "):
        check_web_node(args(site=site, application=application))
