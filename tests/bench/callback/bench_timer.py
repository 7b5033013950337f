# Benchmark helper of the webfarm.winauth collection (not part of the collection).
"""bench_timer: per task, the wall time from its start to its last host's result, and each host's result."""

from __future__ import annotations

import json
import os
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: bench_timer
type: aggregate
short_description: task wall times and per-host results for the webfarm.winauth benchmark
description: Writes a JSON list of tasks (name, play, start, end, per-host changed/failed/remote_calls) to BENCH_TIMER_OUT.
requirements: [BENCH_TIMER_OUT in the environment]
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "bench_timer"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self) -> None:
        super().__init__()
        self.tasks: list[dict] = []
        self.play = ""

    def v2_playbook_on_play_start(self, play) -> None:
        self.play = play.get_name()

    def v2_playbook_on_task_start(self, task, is_conditional) -> None:
        del is_conditional
        self.tasks.append({"name": task.get_name(), "play": self.play, "start": time.monotonic(), "end": None, "hosts": {}})

    def _record(self, result, status: str) -> None:
        if not self.tasks:
            return
        current = self.tasks[-1]
        current["end"] = time.monotonic()
        data = result._result
        current["hosts"][result._host.get_name()] = {
            "status": status, "changed": bool(data.get("changed")), "remote_calls": data.get("remote_calls"),
            "msg": str(data.get("msg", ""))[:300] if status != "ok" else ""}

    def v2_runner_on_ok(self, result) -> None:
        self._record(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False) -> None:
        self._record(result, "failed")

    def v2_runner_on_unreachable(self, result) -> None:
        self._record(result, "unreachable")

    def v2_playbook_on_stats(self, stats) -> None:
        del stats
        with open(os.environ["BENCH_TIMER_OUT"], "w", encoding="utf-8") as handle:
            json.dump(self.tasks, handle)
