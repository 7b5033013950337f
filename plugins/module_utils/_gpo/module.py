# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""AnsibleModule glue of the GPO modules: the directory connection plus SYSVOL (see ``context``)."""

from __future__ import annotations

import typing as t

from ansible_collections.webfarm.winauth.plugins.module_utils._directory.module import ADModule
from ansible_collections.webfarm.winauth.plugins.module_utils._directory.outcome import Outcome
from ansible_collections.webfarm.winauth.plugins.module_utils._gpo.context import GpoContext
from ansible_collections.webfarm.winauth.plugins.module_utils._gpo.sysvol import require_smb


class GpoModule(ADModule):
    """An ADModule whose engines take a :class:`GpoContext` (the connection and its SYSVOL sessions)."""

    def require_smb(self) -> None:
        """Fail, before connecting, when smbprotocol (SYSVOL) is missing."""
        if require_smb():
            self.fail_json(msg="the Python library smbprotocol is required to reach SYSVOL; install the collection's "
                               "requirements.txt on the host that runs this task")

    def run_gpo(self, engine: t.Callable[[GpoContext], Outcome]) -> t.NoReturn:
        """Connect, run the engine with the connection and its SYSVOL sessions, finish with the outcome."""

        def with_context(conn: t.Any) -> Outcome:
            with GpoContext(conn) as ctx:
                return engine(ctx)

        self.run(with_context)
