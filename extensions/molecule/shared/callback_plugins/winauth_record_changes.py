# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Molecule scenarios of webfarm.winauth only: record which tasks changed what, per run of converge.yml."""

from __future__ import annotations

import json
import os

from ansible import context
from ansible.plugins.callback import CallbackBase

DOCUMENTATION = r"""
name: winauth_record_changes
type: aggregate
short_description: Record the changed tasks of each converge run (webfarm.winauth molecule scenarios only)
description:
  - For each run of a playbook named C(converge.yml), writes the host and task name of every changed
    result, handlers included, to C($MOLECULE_EPHEMERAL_DIRECTORY/changes/), as C(check.json) for a
    C(--check) run and C(converge-1.json), C(converge-2.json) ... otherwise.
  - The scenarios' verify step compares the check run's predictions with the first real run's changes.
  - Writes nothing outside a molecule run or for other playbooks.
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "winauth_record_changes"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self) -> None:
        super().__init__()
        self._directory = None
        self._changes: list[dict[str, str]] = []

    def v2_playbook_on_start(self, playbook) -> None:
        ephemeral = os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY")
        if ephemeral and os.path.basename(playbook._file_name) == "converge.yml":  # pylint: disable=protected-access
            self._directory = os.path.join(ephemeral, "changes")

    def v2_runner_on_ok(self, result) -> None:
        if self._directory is not None and result._result.get("changed"):  # pylint: disable=protected-access
            self._changes.append({"host": result._host.get_name(),  # pylint: disable=protected-access
                                  "task": result._task.get_name()})  # pylint: disable=protected-access

    def v2_playbook_on_stats(self, stats) -> None:
        del stats
        if self._directory is None:
            return
        os.makedirs(self._directory, exist_ok=True)
        if context.CLIARGS.get("check"):
            name = "check.json"
        else:
            runs = [n for n in os.listdir(self._directory) if n.startswith("converge-")]
            name = "converge-%d.json" % (len(runs) + 1)
        with open(os.path.join(self._directory, name), "w", encoding="utf-8") as handle:
            json.dump(sorted(self._changes, key=lambda c: (c["host"], c["task"])), handle, indent=1)
