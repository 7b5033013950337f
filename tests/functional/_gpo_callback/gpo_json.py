# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test-only stdout callback of the GPO tests: one JSON line per task result, diff and warnings included."""

from __future__ import annotations

import json

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = r"""
name: gpo_json
type: stdout
short_description: One JSON line per task result (webfarm.winauth GPO tests only)
description:
  - Prints C(GPO_RESULT ) followed by a JSON object (task, status, result) for every task result,
    keeping the module's diff and warnings, so the tests can assert on them.
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "stdout"
    CALLBACK_NAME = "gpo_json"

    def _emit(self, status, result):
        data = dict(result._result)  # pylint: disable=protected-access
        self._display.display("GPO_RESULT " + json.dumps({"task": result.task_name, "status": status,
                                                          "result": data}, default=str, sort_keys=True))

    def v2_runner_on_ok(self, result):
        self._emit("ok", result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._emit("failed", result)

    def v2_runner_on_skipped(self, result):
        self._emit("skipped", result)

    def v2_runner_on_unreachable(self, result):
        self._emit("unreachable", result)
