# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of webfarm.winauth.journal_restore (documentation: plugins/modules/journal_restore.py).

The planning is pure (plugin_utils/_change_plan/rollback.py); every read and write goes through the collection's
directory modules (``self._execute_module``), so each keeps its check mode, diff, validation and messages.
"""

from __future__ import annotations

import typing as t

from ansible.errors import AnsibleActionFail

from ansible_collections.webfarm.winauth.plugins.plugin_utils._action import WinauthAction
from ansible_collections.webfarm.winauth.plugins.module_utils._directory.options import AD_CONNECTION_ARGSPEC
from ansible_collections.webfarm.winauth.plugins.plugin_utils._change_plan import rollback

SPEC: dict[str, t.Any] = dict(AD_CONNECTION_ARGSPEC, record={"type": "path", "required": True},
                              on_refusal={"type": "str", "default": "fail", "choices": ["fail", "report"]})


class ActionModule(WinauthAction):
    ARGUMENT_SPEC = SPEC

    def _run(self, module: str, args: dict[str, t.Any], conn: dict[str, t.Any], task_vars: dict[str, t.Any],
             check: bool) -> dict[str, t.Any]:
        saved = self._task.check_mode
        self._task.check_mode = check or saved
        try:
            return self._execute_module(module_name="webfarm.winauth.%s" % module, module_args=dict(conn, **args),
                                        task_vars=task_vars)
        finally:
            self._task.check_mode = saved

    def act(self, args: dict[str, t.Any], task_vars: dict[str, t.Any], result: dict[str, t.Any]) -> None:
        try:
            journal = rollback.read_journal(args["record"])
        except rollback.RecordError as exc:
            raise AnsibleActionFail(str(exc)) from None
        conn = {k: args[k] for k in AD_CONNECTION_ARGSPEC if args.get(k) is not None}
        items, skipped = rollback.plan(journal)
        report, diffs, changed = [], [], False
        for item in items:
            status, why, item_diffs, item_changed = self._item(item, items, conn, task_vars)
            report.append({"object": item.entry.get("object"), "kind": item.entry.get("kind"), "status": status,
                           "reason": why})
            diffs += item_diffs
            changed = changed or item_changed
        refused = [r for r in report if r["status"] == "refused"]
        result.update(changed=changed, items=report, refused=refused, not_restored=skipped,
                      unrecorded=journal.get("unrecorded") or [])
        if self._task.diff and diffs:
            result["diff"] = diffs
        warnings = ["%s on %s: %s" % (s["object"], s["host"], s["reason"]) for s in skipped]
        warnings += ["the task %r on %s failed in the run and is not in the journal: check by hand what it wrote (%s)"
                     % (u.get("task"), u.get("host"), u.get("msg")) for u in result["unrecorded"]]
        reported, failure = rollback.refusals(refused, args["on_refusal"])
        self.add_warnings(result, warnings + reported)
        if failure:
            result.update(failed=True, msg=failure)

    def _item(self, item: rollback.Item, items: list[rollback.Item], conn: dict[str, t.Any],
              task_vars: dict[str, t.Any]) -> tuple[str, str, list[t.Any], bool]:
        """One item: probe in check mode, decide, then write through the modules (a refusal stops this item only)."""
        if item.probe is None:
            verdict, why = rollback.decide(item, None)
            return ("refused" if verdict == "refuse" else "ok"), why, [], False
        probe = self._run(item.probe[0], item.probe[1], conn, task_vars, check=True)
        if probe.get("failed"):
            return "refused", "reading it failed: %s" % probe.get("msg"), [], False
        verdict, why = rollback.decide(item, rollback.current_of(item, probe))
        if verdict == "restore" and item.entry.get("kind") == "kerberos_encryption":
            verdict, why = rollback.encryption_predicted(item, probe.get("supported_encryption_types"))
        if verdict != "restore":
            return ("refused" if verdict == "refuse" else "ok"), why, [], False
        diffs, changed = [], False
        for module, margs in item.calls:
            if module == "spn" and margs.get("on_conflict") == "move":
                trial = self._run(module, margs, conn, task_vars, check=True)
                foreign = rollback.foreign_sources(items, trial.get("moved_from"))
                if trial.get("failed") or foreign:
                    return "refused", self._move_refusal(margs, foreign, trial), diffs, changed
            res = self._run(module, margs, conn, task_vars, check=False)
            if res.get("failed"):
                return "refused", "%s refused: %s" % (module, res.get("msg")), diffs, changed
            changed = changed or bool(res.get("changed"))
            if res.get("diff"):
                diffs += res["diff"] if isinstance(res["diff"], list) else [res["diff"]]
        return ("restored" if changed or not item.calls else "ok"), why, diffs, changed

    @staticmethod
    def _move_refusal(margs: dict[str, t.Any], foreign: list[str], trial: dict[str, t.Any]) -> str:
        if not foreign:
            return "the move back was refused: %s" % trial.get("msg")
        return ("giving %s back would take it from %s, which the run did not give it to: someone moved it since the "
                "run; decide who must hold it, then roll back again" % (", ".join(margs["spns"]), ", ".join(foreign)))
