# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""AnsibleModule glue shared by every module of the ``ad`` action group."""

from __future__ import annotations

import typing as t

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.webfarm.winauth.plugins.module_utils._ad_connection import (
    AD_CONNECTION_ARGSPEC,
    ADConnection,
    ADConnectionOptions,
    ADError,
    connect,
    require_libraries,
)


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
        missing = require_libraries()
        if missing:
            self.fail_json(msg=missing_required_lib(missing) + " (install the collection's requirements.txt on the "
                           "host that runs this task, usually the controller)")

    @property
    def connection_options(self) -> ADConnectionOptions:
        return ADConnectionOptions.from_params(self.params)

    def connect(self) -> ADConnection:
        """Connect and bind, or fail the task with the connection layer's one-line explanation."""
        try:
            return connect(self.connection_options)
        except ADError as exc:
            self.fail_json(msg=str(exc))
            raise  # unreachable: fail_json exits

    def fail_ad(self, exc: ADError, **result: t.Any) -> t.NoReturn:
        self.fail_json(msg=str(exc), **result)
