# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test-only stdout callback: one JSON line per task result, diff and warnings included (not part of the collection)."""

from __future__ import annotations

import json

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = r"""
name: winauth_results
type: stdout
short_description: One JSON line per task result (tests of webfarm.winauth only)
description:
  - Prints C(WINAUTH_RESULT ) followed by a JSON object (task, host, status, result) for every task
    result, with the module's diff and warnings kept, so the tests can assert on them.
"""

PREFIX = "WINAUTH_RESULT "


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "stdout"
    CALLBACK_NAME = "winauth_results"

    def _emit(self, status: str, result) -> None:
        data = dict(result.result) if hasattr(result, "result") else dict(result._result)  # pylint: disable=W0212
        line = {"task": result.task_name, "host": result.host.get_name(), "status": status, "result": data}
        self._display.display(PREFIX + json.dumps(line, default=str, sort_keys=True))

    def v2_runner_on_ok(self, result):
        self._emit("ok", result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._emit("failed", result)

    def v2_runner_on_skipped(self, result):
        self._emit("skipped", result)

    def v2_runner_on_unreachable(self, result):
        self._emit("unreachable", result)
