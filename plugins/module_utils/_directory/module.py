# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""AnsibleModule glue shared by every module of the ``ad`` action group: options, connection, result."""

from __future__ import annotations

import typing as t

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.webfarm.winauth.plugins.module_utils._directory.connection import connect
from ansible_collections.webfarm.winauth.plugins.module_utils._directory.operations import Directory, missing_library
from ansible_collections.webfarm.winauth.plugins.module_utils._directory.options import (
    AD_CONNECTION_ARGSPEC,
    ConnectionOptions,
)
from ansible_collections.webfarm.winauth.plugins.module_utils._directory.outcome import Outcome
from ansible_collections.webfarm.winauth.plugins.module_utils._windows.errors import WinauthError, fail_module


class ADModule(AnsibleModule):
    """An AnsibleModule with the directory connection options merged into its argument spec."""

    def __init__(self, argument_spec: dict[str, t.Any], **kwargs: t.Any) -> None:
        spec = dict(AD_CONNECTION_ARGSPEC)
        overlap = set(spec) & set(argument_spec)
        if overlap:  # pragma: no cover - programming error
            raise ValueError("module options clash with the connection options: %s" % sorted(overlap))
        spec.update(argument_spec)
        kwargs.setdefault("supports_check_mode", True)
        super().__init__(argument_spec=spec, **kwargs)
        missing = missing_library()
        if missing:
            self.fail_json(msg=missing_required_lib(missing) + " (install the collection's requirements.txt on the "
                           "host that runs this task, usually the controller)")

    @property
    def connection_options(self) -> ConnectionOptions:
        return ConnectionOptions.from_params(self.params)

    def connect(self) -> Directory:
        """Connect and bind, or fail the task with the connection's one-line explanation."""
        options = self.connection_options
        try:
            conn = connect(options)
        except WinauthError as exc:
            fail_module(self, exc)
        for warning in options.warnings():
            self.warn(warning)
        return conn

    def run(self, engine: t.Callable[[Directory], Outcome]) -> t.NoReturn:
        """Connect, run the engine with the connection, and finish the task with its outcome."""
        conn = self.connect()
        try:
            with conn:
                outcome = engine(conn)
        except WinauthError as exc:
            fail_module(self, exc)
        self.finish(outcome)

    def finish(self, outcome: Outcome) -> t.NoReturn:
        """exit_json with the outcome: its warnings, its result, ``changed``, and the diff when asked for."""
        for warning in outcome.warnings:
            self.warn(warning)
        result = dict(outcome.result, changed=outcome.changed)
        if self._diff and outcome.diff is not None:
            result["diff"] = outcome.diff
        self.exit_json(**result)
        raise AssertionError("exit_json returned")  # pragma: no cover
