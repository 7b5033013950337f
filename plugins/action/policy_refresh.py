# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of webfarm.winauth.policy_refresh (documentation: plugins/modules/policy_refresh.py)."""

from __future__ import annotations

import typing as t

from ansible.errors import AnsibleActionFail

from ansible_collections.webfarm.winauth.plugins.plugin_utils._action import (
    WinauthAction,
    action_failure,
    inventory_host,
)
from ansible_collections.webfarm.winauth.plugins.module_utils._windows.errors import WinauthError
from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis.policy_refresh import (
    POLICY_REFRESH_SPEC,
    check_options,
    gpupdate_failure,
    gpupdate_warnings,
    missing_rights,
    rights_failure,
)
from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis.runner import RemoteRunner


class ActionModule(WinauthAction):
    ARGUMENT_SPEC = POLICY_REFRESH_SPEC

    def act(self, args: dict[str, t.Any], task_vars: dict[str, t.Any], result: dict[str, t.Any]) -> None:
        node = inventory_host(self, task_vars)
        try:
            rights, required = check_options(args)
        except WinauthError as exc:
            raise action_failure(exc, remote_calls=0) from None
        runner = RemoteRunner(self)
        refreshed = None
        holders: dict[str, list[dict[str, t.Any]]] = {}
        try:
            if args["refresh"] and not self._task.check_mode:
                refreshed = runner.gpupdate(args["target"], args["wait"])
                if not refreshed.get("succeeded"):
                    raise AnsibleActionFail(gpupdate_failure(node, refreshed),
                                            result={"remote_calls": runner.calls, "gpupdate": refreshed})
            if rights:
                holders = runner.user_rights(rights)
        except WinauthError as exc:
            raise action_failure(exc, remote_calls=runner.calls) from None
        missing = missing_rights(holders, required)
        result.update(
            changed=bool(args["refresh"]),
            refreshed=refreshed is not None,
            rights=holders,
            missing=missing,
            remote_calls=runner.calls,
        )
        if refreshed is not None:
            result["gpupdate"] = refreshed
        self.add_warnings(result, gpupdate_warnings(node, refreshed))
        messages = rights_failure(node, missing, holders)
        if messages and self._task.check_mode and args["refresh"]:
            # Nothing was refreshed: the domain's policy may still grant the right at the real run.
            self.add_warnings(result, ["check mode, before the refresh: %s" % message for message in messages])
        elif messages:
            result.update(failed=True, msg="; ".join(messages))
        self.add_warnings(result, runner.warnings)
