# Test helper of the webfarm.winauth collection (not part of the collection): apply raw iis_config edits
# (docs/remote-contract.md) through the collection's remote runner, to put a lab node into a state a test
# starts from (for example Windows authentication switched on at a site) without another module.
"""winauth_iis_apply: one iis_config apply call with the given edits."""

from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.webfarm.winauth.plugins.module_utils._remote_contract import RemoteError, RemoteProtocolError
from ansible_collections.webfarm.winauth.plugins.plugin_utils._remote_runner import RemoteRunner, action_error


class ActionModule(ActionBase):
    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        runner = RemoteRunner(self)
        try:
            applied = runner.apply(self._task.args["edits"])
        except (RemoteError, RemoteProtocolError) as exc:
            raise AnsibleActionFail(action_error(exc)) from None
        result.update(changed=bool(applied.get("changed")), remote_calls=runner.calls)
        return result
