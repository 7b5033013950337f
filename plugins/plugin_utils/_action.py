# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""The base of every action plugin of the collection: arguments validated, one way to fail, compiled once.

A subclass sets ``ARGUMENT_SPEC`` (and ``VALIDATION``: mutually_exclusive, required_if, ... for
``validate_argument_spec``) and implements ``act(args, task_vars, result)``, which fills ``result``.
Any ``WinauthError`` fails the task with its one line and its ``task_result`` keys
(:func:`action_failure`). Importing this module installs the bytecode cache (``_bytecode``) first,
so every collection module an action plugin imports after it is compiled once per controller.
"""

from __future__ import annotations

from ansible_collections.webfarm.winauth.plugins.plugin_utils import _bytecode

_bytecode.install()

import copy  # noqa: E402  pylint: disable=wrong-import-position
import typing as t  # noqa: E402  pylint: disable=wrong-import-position

from ansible.errors import AnsibleActionFail  # noqa: E402  pylint: disable=wrong-import-position
from ansible.plugins.action import ActionBase  # noqa: E402  pylint: disable=wrong-import-position

from ansible_collections.webfarm.winauth.plugins.module_utils._windows.errors import (  # noqa: E402
    WinauthError,
)


def action_failure(exc: WinauthError, **result: t.Any) -> AnsibleActionFail:
    """The AnsibleActionFail of an error: its line, its ``task_result`` keys and ``result``."""
    return AnsibleActionFail(str(exc), result=dict(exc.task_result, **result))


class WinauthAction(ActionBase):
    """Subclass, set ARGUMENT_SPEC (and VALIDATION), implement act()."""

    ARGUMENT_SPEC: dict[str, t.Any] = {}
    VALIDATION: dict[str, t.Any] = {}
    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False

    def act(self, args: dict[str, t.Any], task_vars: dict[str, t.Any], result: dict[str, t.Any]) -> None:
        raise NotImplementedError

    def run(self, tmp: t.Any = None, task_vars: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
        result = super().run(tmp, task_vars)
        del tmp
        _validation, args = self.validate_argument_spec(argument_spec=copy.deepcopy(self.ARGUMENT_SPEC),
                                                        **self.VALIDATION)
        try:
            self.act(args, task_vars or {}, result)
        except WinauthError as exc:
            raise action_failure(exc) from None
        return result

    @staticmethod
    def add_warnings(result: dict[str, t.Any], warnings: t.Sequence[str]) -> None:
        if warnings:
            result["warnings"] = result.get("warnings", []) + list(warnings)


def inventory_host(action: ActionBase, task_vars: dict[str, t.Any]) -> str:
    """The play's name of the host a task runs for."""
    return str(task_vars.get("inventory_hostname") or action._play_context.remote_addr)  # pylint: disable=W0212
