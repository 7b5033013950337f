# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of webfarm.winauth.node_restore (documentation: plugins/modules/node_restore.py).

One read of what the node's journal entries name, the plan in Python (plugin_utils/_change_plan/node_rollback.py),
one apply (with the read's fingerprints), and ``gpupdate`` again when the run refreshed policy.
"""

from __future__ import annotations

import typing as t

from ansible.errors import AnsibleActionFail

from ansible_collections.webfarm.winauth.plugins.module_utils._windows.errors import WinauthError
from ansible_collections.webfarm.winauth.plugins.plugin_utils._action import action_failure, inventory_host
from ansible_collections.webfarm.winauth.plugins.plugin_utils._change_plan import node_rollback, rollback
from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis.action import IISAction
from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis.config import Plan, SectionState, Target
from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis.contract import RemoteError
from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis.runner import RemoteRunner


class ActionModule(IISAction):
    ARGUMENT_SPEC = {"record": {"type": "path", "required": True},
                     "on_refusal": {"type": "str", "default": "fail", "choices": ["fail", "report"]},
                     "policy_refresh": {"type": "str", "default": "auto", "choices": ["auto", "always", "never"]}}

    _entries: list[dict[str, t.Any]] = []
    _items: list[node_rollback.NodeItem] = []
    _refresh = False
    _runner: RemoteRunner | None = None
    _read: list[Target] = []

    def targets(self, args: dict[str, t.Any]) -> list[Target]:
        del args
        return node_rollback.targets(self._entries)

    def read(self, runner: RemoteRunner, args: dict[str, t.Any], targets: list[Target]) -> list[SectionState]:
        self._runner = runner
        self._read = targets
        return runner.read(targets) if targets else []

    def plan(self, args: dict[str, t.Any], states: list[SectionState]) -> Plan:
        del args
        self._items, plan, self._refresh = node_rollback.plan(self._entries, self._read, states)
        return plan

    def act(self, args: dict[str, t.Any], task_vars: dict[str, t.Any], result: dict[str, t.Any]) -> None:
        try:
            journal = rollback.read_journal(args["record"])
        except rollback.RecordError as exc:
            raise AnsibleActionFail(str(exc)) from None
        host = inventory_host(self, task_vars)
        self._entries = node_rollback.entries_for(journal, host)
        if not self._entries:
            result.update(changed=False, items=[], refused=[], refreshed=False, remote_calls=0,
                          msg="the record's journal lists nothing the run changed on %s" % host)
            return
        super().act(args, task_vars, result)
        report = [item.report() for item in self._items]
        refused = [r for r in report if r["status"] == "refused"]
        result.update(items=report, refused=refused, refreshed=False)
        for key in ("before", "after"):
            result.pop(key, None)
        restored = any(r["status"] == "restored" for r in report if r["kind"] != "policy_refresh")
        if self._refresh and (args["policy_refresh"] == "always" or (args["policy_refresh"] == "auto" and restored)):
            result["changed"] = True
            if not self._task.check_mode and self._runner is not None:
                try:
                    self._runner.gpupdate()
                except (RemoteError, WinauthError) as exc:
                    raise action_failure(exc, changed=True, items=report, remote_calls=self._runner.calls) from None
                result["refreshed"] = True
                result["remote_calls"] = self._runner.calls
        elif self._refresh:
            for entry in report:
                if entry["kind"] == "policy_refresh":
                    entry.update(status="ok", reason="nothing else on this node was restored (policy_refresh=%s)"
                                 % args["policy_refresh"])
        warnings = ["the task %r on %s failed in the run and is not in the journal: check by hand what it wrote (%s)"
                    % (u.get("task"), u.get("host"), u.get("msg")) for u in journal.get("unrecorded") or []
                    if str(u.get("host", "")).lower() == host.lower()]
        reported, failure = rollback.refusals(refused, args["on_refusal"], " on %s" % host)
        self.add_warnings(result, warnings + reported)
        if failure:
            result.update(failed=True, msg=failure)
