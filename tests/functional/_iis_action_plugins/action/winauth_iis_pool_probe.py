# Test helper of the webfarm.winauth collection (not part of the collection): the smallest IIS action
# plugin built on the collection's IISAction base, used to prove the web-node plane end to end
# (action plugin -> Ansible's winrm connection -> lab node -> twin) before the real IIS plugins exist.
"""winauth_iis_pool_probe: an application pool with a specific identity, present or absent."""

from __future__ import annotations

from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis.config import (
    Plan,
    SecretCheck,
    Target,
    plan_collection,
    plan_item,
)
from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis.action import IISAction

POOLS = "system.applicationHost/applicationPools"


class ActionModule(IISAction):
    ARGUMENT_SPEC = {
        "name": {"type": "str", "required": True},
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        "user": {"type": "str"},
        "password": {"type": "str", "no_log": True},
        "queue_length": {"type": "int"},
    }

    def targets(self, args):
        key = {"name": args["name"]}
        checks = (SecretCheck((key, "processModel"), "password", args["password"]),) if args["password"] else ()
        return [Target(POOLS, "", (), checks)]

    def plan(self, args, states):
        plan = Plan()
        if args["state"] == "absent":
            plan_collection(plan, states[0], [], [{"name": args["name"]}], mode="absent")
            return plan
        identity = {"identityType": "SpecificUser", "userName": args["user"], "password": args["password"]} \
            if args["user"] else {}
        plan_item(plan, states[0], [], {"name": args["name"]}, {"queueLength": args["queue_length"]},
                  {"processModel": identity})
        return plan

    def report(self, args, states, plan):
        pool = states[0].element.item({"name": args["name"]})
        return {"existed": pool is not None}
