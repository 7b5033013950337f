# Test helper of the webfarm.winauth collection (not part of the collection): apply raw iis_config edits
# (docs/remote-contract.md) through the collection's remote runner, to put a lab node into a state a test
# starts from (for example Windows authentication switched on at a site) without another module.
"""winauth_iis_apply: one iis_config apply call with the given edits."""

from __future__ import annotations

from ansible_collections.webfarm.winauth.plugins.plugin_utils._action import WinauthAction
from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis.runner import RemoteRunner


class ActionModule(WinauthAction):
    ARGUMENT_SPEC = {"edits": {"type": "list", "elements": "dict", "required": True}}

    def act(self, args, task_vars, result):
        runner = RemoteRunner(self)
        applied = runner.apply(args["edits"])
        result.update(changed=bool(applied.get("changed")), remote_calls=runner.calls)
