# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of webfarm.winauth.web_auth (documentation: plugins/modules/web_auth.py)."""

from __future__ import annotations

import typing as t

from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis.action import IISAction
from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis.config import Plan, SectionState, Target
from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis.web_auth import (
    ANONYMOUS_AUTH_SPEC,
    WINDOWS_AUTH_SPEC,
    check_location,
    check_web_auth,
    normalize_application,
    plan_web_auth,
    web_auth_location,
    web_auth_targets,
)


class ActionModule(IISAction):
    ARGUMENT_SPEC = {
        "site": {"type": "str", "required": True},
        "application": {"type": "str"},
        "windows": WINDOWS_AUTH_SPEC,
        "anonymous": ANONYMOUS_AUTH_SPEC,
        "behind_proxy": {"type": "bool", "default": False},
    }
    VALIDATION = {"required_one_of": [["windows", "anonymous"]]}

    def targets(self, args: dict[str, t.Any]) -> list[Target]:
        check_location(args["site"], args["application"])
        check_web_auth(args["windows"], args["anonymous"])
        return web_auth_targets(args["site"], args["application"], args["anonymous"])

    def plan(self, args: dict[str, t.Any], states: list[SectionState]) -> Plan:
        plan = Plan()
        plan_web_auth(plan, states, args["site"], args["application"], args["windows"], args["anonymous"],
                      behind_proxy=args["behind_proxy"])
        return plan

    def report(self, args: dict[str, t.Any], states: list[SectionState], plan: Plan) -> dict[str, t.Any]:
        del plan
        location = web_auth_location(args["site"], args["application"])
        canonical = next((s.location for s in states if s.location.lower() == location.lower()), location)
        return {"location": canonical, "application": normalize_application(args["application"])}
