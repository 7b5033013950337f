# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of webfarm.winauth.web_node (documentation: plugins/modules/web_node.py)."""

from __future__ import annotations

import typing as t

from ansible.errors import AnsibleActionFail

from ansible_collections.webfarm.winauth.plugins.plugin_utils._action import inventory_host
from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis.action import IISAction
from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis.config import Plan, SectionState, Target
from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis.policy_refresh import (
    gpupdate_failure,
    gpupdate_warnings,
    missing_rights,
    rights_failure,
)
from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis.runner import RemoteRunner
from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis.web_node import (
    WEB_NODE_SPEC,
    RightNotHeld,
    check_web_node,
    node_report,
    plan_web_node,
    rights_of,
    wants_refresh,
    web_node_targets,
)


class ActionModule(IISAction):
    ARGUMENT_SPEC = WEB_NODE_SPEC

    def targets(self, args: dict[str, t.Any]) -> list[Target]:
        check_web_node(args)
        targets, self._split = web_node_targets(args)
        return targets

    def read(self, runner: RemoteRunner, args: dict[str, t.Any], targets: list[Target]) -> list[SectionState]:
        """The node's configuration and rights in one call; gpupdate (one more) only when policy must be refreshed."""
        node = inventory_host(self, self._task_vars)
        rights, required = rights_of(args)
        states, holders = runner.read_node(targets, rights)
        missing = missing_rights(holders, required)
        refresh = wants_refresh(args, missing)
        refreshed = None
        if refresh and not self._task.check_mode:
            refreshed = runner.gpupdate("computer", args["refresh_wait"], rights)
            if not refreshed.get("succeeded"):
                raise AnsibleActionFail(gpupdate_failure(node, refreshed) + "; nothing was written",
                                        result={"remote_calls": runner.calls, "gpupdate": refreshed, "changed": True})
            holders = refreshed.get("rights") or holders
            missing = missing_rights(holders, required)
        messages = rights_failure(node, missing, holders)
        self._node = {"host": node, "rights": holders, "missing": missing, "refresh": refresh,
                      "refreshed": refreshed, "messages": messages}
        predicted = self._task.check_mode and refresh
        if messages and args["on_missing"] == "fail" and not predicted:
            raise RightNotHeld("; ".join(messages) + "; nothing was written",
                               {"rights": holders, "missing": missing, "refreshed": refreshed is not None,
                                "remote_calls": runner.calls, "changed": refreshed is not None})
        return states

    def plan(self, args: dict[str, t.Any], states: list[SectionState]) -> Plan:
        node = self._node
        # The pool restarts with the change (in the same apply) only when its identity holds its rights: a worker
        # process that cannot log on as a batch job would stop the pool (503).
        held = not node["missing"] or (self._task.check_mode and node["refresh"])
        plan = plan_web_node(args, states, self._split, bool(node["refresh"]), held)
        if node["messages"] and self._task.check_mode and node["refresh"]:
            plan.warnings += ["check mode, before the refresh: %s" % message for message in node["messages"]]
        elif node["messages"]:
            plan.warnings += node["messages"] + (["the pool was not restarted: its identity would not log on"]
                                                 if args["restart"] != "none" and args.get("app_pool") else [])
        plan.warnings += gpupdate_warnings(node["host"], node["refreshed"])
        return plan

    def report(self, args: dict[str, t.Any], states: list[SectionState], plan: Plan) -> dict[str, t.Any]:
        node = self._node
        report = node_report(args, states, self._split, plan)
        report.update(rights=node["rights"], missing=node["missing"], refresh=node["refresh"],
                      refreshed=node["refreshed"] is not None)
        if node["refreshed"] is not None:
            report["gpupdate"] = {k: v for k, v in node["refreshed"].items() if k != "rights"}
        return report

    def act(self, args: dict[str, t.Any], task_vars: dict[str, t.Any], result: dict[str, t.Any]) -> None:
        self._task_vars = task_vars
        super().act(args, task_vars, result)
        if self._node["refreshed"] is not None:
            result["changed"] = True      # gpupdate /force ran: policy was refreshed on the host
