# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
r"""Where a GPO's SYSVOL folder may be: ``\\<domain>\SysVol\<domain>\Policies\{<its own GUID>}`` (pure).

``gPCFileSysPath`` is data from the directory that anyone allowed to edit the GPO can change. Pointed at the
SYSVOL root, NETLOGON or another GPO's folder, a delete or a repair of this GPO would work there instead: the
path is checked against the GPO's own GUID and the domain before any SMB read, write or delete.
"""

from __future__ import annotations

from ansible_collections.webfarm.winauth.plugins.module_utils._windows.errors import InvalidInput, WinauthError

SYSVOL_SHARE = "SysVol"


class SysvolError(WinauthError):
    """A SYSVOL failure explained in one line."""


class SysvolPathError(SysvolError, InvalidInput):
    """A SYSVOL path (from the directory, or for an account) that cannot be used."""


def split_unc(unc: str) -> tuple[str, str, str]:
    r"""``\\camtest.local\SysVol\camtest.local\Policies\{GUID}`` -> (host, share, path inside the share)."""
    text = (unc or "").replace("/", "\\")
    if not text.startswith("\\\\"):
        raise SysvolPathError("gPCFileSysPath %r is not a UNC path (\\\\domain\\SysVol\\domain\\Policies\\{GUID})"
                              % unc)
    parts = [part for part in text[2:].split("\\") if part]
    if len(parts) < 3:
        raise SysvolPathError("gPCFileSysPath %r has no folder inside a share" % unc)
    return parts[0], parts[1], "\\".join(parts[2:])


def expected_folder(dns_domain: str, guid: str) -> str:
    r"""The one gPCFileSysPath a GPO may have: ``\\<domain>\SysVol\<domain>\Policies\{GUID}``."""
    return "\\\\%s\\%s\\%s\\Policies\\%s" % (dns_domain, SYSVOL_SHARE, dns_domain, guid)


def gpo_folder(file_sys_path: str, dns_domain: str, guid: str, name: str = "") -> str:
    r"""The GPO's folder inside the SysVol share, or SysvolPathError when gPCFileSysPath points anywhere else.

    Compared case-insensitively, component by component: the domain's DNS name as host and as first folder,
    the SysVol share, ``Policies``, and the GUID of the GPO being edited, nothing before, after or between
    (so no ``..``, no other share, no other GPO's folder, no subfolder).
    """
    wanted = expected_folder(dns_domain, guid)
    text = file_sys_path or ""
    parts = text[2:].split("\\") if text.startswith("\\\\") else []
    if [part.lower() for part in parts] != [part.lower() for part in wanted[2:].split("\\")]:
        raise SysvolPathError(
            "gPCFileSysPath of GPO %s%s is %r, not %s: refusing to read, write or delete anything in SYSVOL for it "
            "(someone allowed to edit the GPO can point it at another folder); set gPCFileSysPath of %s back to %s "
            "(ADSI Edit, or Set-ADObject -Replace) after checking who changed it, then run again"
            % ("%s " % name if name else "", guid, text, wanted, guid, wanted))
    return "\\".join(parts[2:])
