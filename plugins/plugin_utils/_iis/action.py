# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""The base of the collection's IIS action plugins: validate, read once, plan in Python, apply once.

A subclass declares its ``ARGUMENT_SPEC`` and implements two methods:

* ``targets(args)``: the sections (and locations, paths, secret comparisons) to read;
* ``plan(args, states)``: a ``Plan`` built with the planners of ``config``.

The base does the rest: argument validation (``validate_argument_spec``), one ``read`` call,
one ``apply`` call when the plan has edits (none in check mode; it carries the read's fingerprints, so the
host refuses it when another run changed what was read meanwhile), ``changed``, ``diff``,
``changes`` (what was or would be done, no secret values), ``before`` and ``after`` (the structured state of
each changing thing, for the change record's journal: never a secret), ``remote_calls`` and warnings.
A task with nothing to change costs one remote command; a task that changes costs two.
"""

from __future__ import annotations

import typing as t

from ansible.errors import AnsibleActionFail

from ansible_collections.webfarm.winauth.plugins.plugin_utils._action import WinauthAction, action_failure
from ansible_collections.webfarm.winauth.plugins.module_utils._windows.errors import WinauthError
from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis.config import (
    Plan,
    SectionState,
    Target,
    expect_request,
)
from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis.contract import RemoteError
from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis.runner import RemoteRunner
from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis.transport import set_secrets, unprotected


class IISAction(WinauthAction):
    """Subclass and set ARGUMENT_SPEC (and VALIDATION); implement targets() and plan(); optionally report()."""

    def targets(self, args: dict[str, t.Any]) -> list[Target]:
        raise NotImplementedError

    def plan(self, args: dict[str, t.Any], states: list[SectionState]) -> Plan:
        raise NotImplementedError

    def read(self, runner: RemoteRunner, args: dict[str, t.Any], targets: list[Target]) -> list[SectionState]:
        """The one read; a subclass that needs more of the node in the same call (user rights) overrides it."""
        del args
        return runner.read(targets)

    def report(self, args: dict[str, t.Any], states: list[SectionState], plan: Plan) -> dict[str, t.Any]:
        """Extra result keys (no secrets); nothing by default."""
        del args, states, plan
        return {}

    def act(self, args: dict[str, t.Any], task_vars: dict[str, t.Any], result: dict[str, t.Any]) -> None:
        secrets = set_secrets(self.ARGUMENT_SPEC, args)
        reason = unprotected(self._connection) if secrets else None
        if reason:
            raise AnsibleActionFail(
                "%s: refusing to send %s to %s over %s: the request would cross the network readable. Use HTTPS "
                "(ansible_winrm_scheme=https or ansible_psrp_protocol=https, port 5986), or NTLM, Kerberos or CredSSP "
                "with message encryption (ansible_winrm_transport / ansible_psrp_auth, message_encryption auto)"
                % (self._task.action, " and ".join(secrets), self._play_context.remote_addr or "the host", reason),
                result={"remote_calls": 0})
        runner = RemoteRunner(self)
        try:
            targets = self.targets(args)
            states = self.read(runner, args, targets)
            plan = self.plan(args, states)
            changed = plan.changed
            if plan.edits and not self._task.check_mode:
                changed = bool(runner.apply(plan.edits, expect_request(targets, states)).get("changed"))
        except RemoteError as exc:
            # A runtime edit that failed after the commit: the host did change, so the failure says changed.
            extra = {"changed": True, "committed": True} if exc.committed else {}
            raise action_failure(exc, remote_calls=runner.calls, **extra) from None
        except WinauthError as exc:
            raise action_failure(exc, remote_calls=runner.calls) from None
        result.update(self.report(args, states, plan))
        result.update(plan.sides())
        result.update(changed=changed, changes=plan.summary, remote_calls=runner.calls)
        if self._task.diff and plan.before:
            result["diff"] = plan.diff()
        self.add_warnings(result, runner.warnings + plan.warnings)
