# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""The collection's one error hierarchy: every failure it explains is a :class:`WinauthError`.

The message is the one line a task fails with: what failed, the parameter or object, the value and
the fix; it never holds a secret. The subclass says what kind of failure it is, so that callers
decide by type (the connection tries the next DC only after :class:`Unreachable`), never by
matching message text. ``task_result`` holds extra keys for the failed task's result (no secrets).

Modules fail with :func:`fail_module`; action plugins raise ``AnsibleActionFail`` through
``plugin_utils._action.action_failure``. Both use ``str(exc)`` and ``exc.task_result``.
"""

from __future__ import annotations

import typing as t


class WinauthError(Exception):
    """A failure explained in one actionable line."""

    def __init__(self, message: str, task_result: dict[str, t.Any] | None = None) -> None:
        super().__init__(message)
        self.task_result: dict[str, t.Any] = dict(task_result or {})


class InvalidInput(WinauthError, ValueError):
    """A parameter, or a value read from a system, that the collection cannot work with; nothing was written."""


class Unreachable(WinauthError):
    """A server (DC, KDC, SMB, web node) did not answer or could not be found: another one may."""


class BindRefused(WinauthError):
    """A server refused the credentials (LDAP bind, SMB session, Kerberos pre-authentication)."""


class InsufficientRights(WinauthError):
    """The identity was authenticated but may not read or write what the task needs."""


class Conflict(WinauthError):
    """Someone else changed or holds the object meanwhile (or already); running again resolves it."""


class DirectoryError(WinauthError):
    """The directory failed or refused for another reason (the DC's answer is in the message)."""


def fail_module(module: t.Any, exc: WinauthError, **result: t.Any) -> t.NoReturn:
    """Fail an AnsibleModule with the error's line and its result keys."""
    module.fail_json(msg=str(exc), **dict(exc.task_result, **result))
    raise AssertionError("fail_json returned")  # pragma: no cover - fail_json exits
