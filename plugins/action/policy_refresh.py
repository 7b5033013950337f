# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of webfarm.winauth.policy_refresh (documentation: plugins/modules/policy_refresh.py)."""

from __future__ import annotations

import copy
import typing as t

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.webfarm.winauth.plugins.plugin_utils import _bytecode

_bytecode.preload("module_utils._gpo_principals", "module_utils._gpo_inf", "module_utils._policy_refresh",
                  "module_utils._remote_contract", "module_utils._iis_schema", "module_utils._iis_config",
                  "plugin_utils._remote_runner")

from ansible_collections.webfarm.winauth.plugins.module_utils._policy_refresh import (
    POLICY_REFRESH_SPEC,
    PolicyCheckError,
    check_options,
    missing_holders,
    missing_message,
)
from ansible_collections.webfarm.winauth.plugins.module_utils._remote_contract import RemoteError, RemoteProtocolError
from ansible_collections.webfarm.winauth.plugins.plugin_utils._remote_runner import RemoteRunner, action_error


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp: t.Any = None, task_vars: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
        result = super().run(tmp, task_vars)
        del tmp
        _validation, args = self.validate_argument_spec(argument_spec=copy.deepcopy(POLICY_REFRESH_SPEC))
        node = str((task_vars or {}).get("inventory_hostname") or self._play_context.remote_addr)
        try:
            rights, required = check_options(args)
        except PolicyCheckError as exc:
            raise AnsibleActionFail(str(exc), result={"remote_calls": 0}) from None
        runner = RemoteRunner(self)
        refreshed = None
        holders: dict[str, list[dict[str, t.Any]]] = {}
        try:
            if args["refresh"] and not self._task.check_mode:
                refreshed = runner.gpupdate(args["target"], args["wait"])
                if not refreshed.get("succeeded"):
                    raise AnsibleActionFail("%s: gpupdate /force failed (rc %s): %s" % (
                        node, refreshed.get("rc"), " ".join(refreshed.get("output") or []) or "no output"),
                        result={"remote_calls": runner.calls, "gpupdate": refreshed})
            if rights:
                holders = runner.user_rights(rights)
        except (RemoteError, RemoteProtocolError) as exc:
            raise AnsibleActionFail(action_error(exc), result={"remote_calls": runner.calls}) from None
        missing = {right: missing_holders(holders.get(right, []), accounts) for right, accounts in required.items()}
        missing = {right: accounts for right, accounts in missing.items() if accounts}
        result.update(
            changed=bool(args["refresh"]),
            refreshed=refreshed is not None,
            rights=holders,
            missing=missing,
            remote_calls=runner.calls,
        )
        if refreshed is not None:
            result["gpupdate"] = refreshed
            if refreshed.get("restart_required"):
                result.setdefault("warnings", []).append(
                    "%s: gpupdate reports that some policy needs a restart or log off to apply" % node)
        messages = [missing_message(node, right, accounts, holders.get(right, [])) for right, accounts in missing.items()]
        if messages and self._task.check_mode and args["refresh"]:
            # Nothing was refreshed: the domain's policy may still grant the right at the real run.
            result.setdefault("warnings", []).extend(
                "check mode, before the refresh: %s" % message for message in messages)
        elif messages:
            result.update(failed=True, msg="; ".join(messages))
        warnings = runner.warnings
        if warnings:
            result["warnings"] = result.get("warnings", []) + warnings
        return result
