# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test-only stdout callback: one JSON object per task result, nothing else on stdout."""

from __future__ import annotations

import json

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = r"""
name: spn_json_lines
type: stdout
short_description: One JSON line per task result (tests of webfarm.winauth only)
description:
  - Prints one JSON object per task result (keys task, status, result), with the module's
    diff and warnings kept, so tests can assert on them.
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "stdout"
    CALLBACK_NAME = "spn_json_lines"

    def _emit(self, status: str, result) -> None:
        data = dict(result.result) if hasattr(result, "result") else dict(result._result)
        line = {"task": result.task_name, "status": status, "result": data}
        self._display.display(json.dumps(line, default=str, sort_keys=True))

    def v2_runner_on_ok(self, result):
        self._emit("ok", result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._emit("failed", result)

    def v2_runner_on_skipped(self, result):
        self._emit("skipped", result)

    def v2_runner_on_unreachable(self, result):
        self._emit("unreachable", result)
