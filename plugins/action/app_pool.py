# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of webfarm.winauth.app_pool (documentation: plugins/modules/app_pool.py)."""

from __future__ import annotations

import typing as t

from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis.action import IISAction
from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis.app_pool import (
    APP_POOL_SPEC,
    app_pool_report,
    app_pool_targets,
    check_app_pool,
    plan_app_pool,
)
from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis.config import Plan, SectionState, Target


class ActionModule(IISAction):
    ARGUMENT_SPEC = APP_POOL_SPEC

    def targets(self, args: dict[str, t.Any]) -> list[Target]:
        check_app_pool(args)
        return app_pool_targets(args)

    def plan(self, args: dict[str, t.Any], states: list[SectionState]) -> Plan:
        return plan_app_pool(args, states)

    def report(self, args: dict[str, t.Any], states: list[SectionState], plan: Plan) -> dict[str, t.Any]:
        return app_pool_report(args, states, plan)
