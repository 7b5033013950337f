# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""webfarm.winauth.arr_farm: an ARR web farm, its URL Rewrite routing rule, the proxy switch and the front door.

The logic is in plugin_utils/_iis/arr/ (spec, validation, plan); this plugin validates, reads once, plans and
applies once (plugin_utils/_iis/action.py). Documentation: plugins/modules/arr_farm.py and docs/arr-farm.md.
"""

from __future__ import annotations

import typing as t

from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis.action import IISAction
from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis.arr import plan as arr_plan
from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis.arr.spec import ARGUMENT_SPEC
from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis.arr.validation import Desired, validate
from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis.config import Plan, SectionState, Target


class ActionModule(IISAction):
    """Validate every parameter, read webFarms, globalRules, proxy (and the site's authentication) once, plan, apply."""

    ARGUMENT_SPEC = ARGUMENT_SPEC

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self._desired: Desired | None = None

    def _validated(self, args: dict[str, t.Any]) -> Desired:
        if self._desired is None:
            self._desired = validate(args)
        return self._desired

    def targets(self, args: dict[str, t.Any]) -> list[Target]:
        return arr_plan.targets(self._validated(args))

    def plan(self, args: dict[str, t.Any], states: list[SectionState]) -> Plan:
        plan = Plan()
        arr_plan.plan_arr(plan, states, self._validated(args))
        return plan

    def report(self, args: dict[str, t.Any], states: list[SectionState], plan: Plan) -> dict[str, t.Any]:
        del plan
        desired = self._validated(args)
        return {"farm": arr_plan.farm_summary(states, desired),
                "rules": [] if desired.state == "absent" else [rule.name for rule in desired.rules]}
