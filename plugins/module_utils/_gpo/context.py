# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""A GPO task's connections: the directory, and the SYSVOL sessions opened on demand with the same credentials."""

from __future__ import annotations

import typing as t

from ansible_collections.webfarm.winauth.plugins.module_utils._directory.operations import Directory
from ansible_collections.webfarm.winauth.plugins.module_utils._gpo.container import GpoInfo
from ansible_collections.webfarm.winauth.plugins.module_utils._gpo.sysvol import Sysvol, sysvol_for
from ansible_collections.webfarm.winauth.plugins.module_utils._gpo.sysvol_path import SYSVOL_SHARE, gpo_folder


class GpoContext:
    """A directory connection plus the SYSVOL session(s) opened on demand with the same credentials."""

    def __init__(self, conn: Directory, open_sysvol: t.Callable[[str], Sysvol] | None = None) -> None:
        self.conn = conn
        self._open_sysvol = open_sysvol or (
            lambda share: sysvol_for(conn.options, conn.info.server, conn.info.dc_hostname, share))
        self._sessions: dict[str, Sysvol] = {}

    def sysvol(self, share: str) -> Sysvol:
        key = share.lower()
        if key not in self._sessions:
            self._sessions[key] = self._open_sysvol(share)
        return self._sessions[key]

    def folder(self, gpo: GpoInfo) -> tuple[Sysvol, str]:
        """The SYSVOL session and the path inside the share of a GPO's folder.

        The only way to a GPO's folder: ``gPCFileSysPath`` is checked against the GPO's GUID and the
        domain first (``sysvol_path``), so no session opens for a path pointed elsewhere.
        """
        path = gpo_folder(gpo.file_sys_path, self.conn.info.dns_domain, gpo.guid, gpo.name)
        return self.sysvol(SYSVOL_SHARE), path

    def close(self) -> None:
        for session in self._sessions.values():
            session.close()
        self._sessions.clear()

    def __enter__(self) -> "GpoContext":
        return self

    def __exit__(self, *exc_info: t.Any) -> None:
        self.close()
