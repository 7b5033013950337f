# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""webfarm.winauth.arr_farm: an ARR web farm, its URL Rewrite routing rule, the proxy switch and the front door.

The logic is in module_utils/_iis_arr.py; this plugin validates, reads once, plans and applies once
(plugin_utils/_iis_action.py). Documentation: plugins/modules/arr_farm.py and docs/arr-farm.md.
"""

from __future__ import annotations

import typing as t

from ansible_collections.webfarm.winauth.plugins.module_utils import _iis_arr as arr
from ansible_collections.webfarm.winauth.plugins.module_utils._iis_config import Plan, SectionState, Target
from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis_action import IISAction


class ActionModule(IISAction):
    """Validate every parameter, read webFarms, globalRules, proxy (and the site's authentication) once, plan, apply."""

    ARGUMENT_SPEC = arr.ARGUMENT_SPEC

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self._desired: arr.Desired | None = None

    def _validated(self, args: dict[str, t.Any]) -> arr.Desired:
        if self._desired is None:
            self._desired = arr.validate(args)
        return self._desired

    def targets(self, args: dict[str, t.Any]) -> list[Target]:
        return arr.targets(self._validated(args))

    def plan(self, args: dict[str, t.Any], states: list[SectionState]) -> Plan:
        plan = Plan()
        arr.plan_arr(plan, states, self._validated(args))
        return plan

    def report(self, args: dict[str, t.Any], states: list[SectionState], plan: Plan) -> dict[str, t.Any]:
        del plan
        desired = self._validated(args)
        return {"farm": arr.farm_summary(states, desired),
                "rules": [] if desired.state == "absent" else [rule.name for rule in desired.rules]}
