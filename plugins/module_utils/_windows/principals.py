# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""Well-known security principals ([MS-DTYP] 2.4.2.4): what every Windows computer knows without a DC.

User-rights assignments name their holders by SID. Domain accounts are resolved
through LDAP; the built-in groups and the NT AUTHORITY identities below have
fixed SIDs ([MS-DTYP] 2.4.2.4), and some of them (IIS_IUSRS, Performance Log
Users, the service identities) exist only on member servers, never in AD, so
they must be known here. Pure data and string handling, no I/O.
"""

from __future__ import annotations

# SID -> (canonical display name, other accepted spellings).
WELL_KNOWN_SIDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "S-1-1-0": ("Everyone", ("World",)),
    "S-1-3-0": ("CREATOR OWNER", ()),
    "S-1-3-1": ("CREATOR GROUP", ()),
    "S-1-5-2": ("NT AUTHORITY\\NETWORK", ()),
    "S-1-5-3": ("NT AUTHORITY\\BATCH", ()),
    "S-1-5-4": ("NT AUTHORITY\\INTERACTIVE", ()),
    "S-1-5-6": ("NT AUTHORITY\\SERVICE", ()),
    "S-1-5-7": ("NT AUTHORITY\\ANONYMOUS LOGON", ()),
    "S-1-5-9": ("NT AUTHORITY\\ENTERPRISE DOMAIN CONTROLLERS", ()),
    "S-1-5-11": ("NT AUTHORITY\\Authenticated Users", ()),
    "S-1-5-14": ("NT AUTHORITY\\REMOTE INTERACTIVE LOGON", ()),
    "S-1-5-17": ("NT AUTHORITY\\IUSR", ("IUSR",)),
    "S-1-5-18": ("NT AUTHORITY\\SYSTEM", ("LocalSystem",)),
    "S-1-5-19": ("NT AUTHORITY\\LOCAL SERVICE", ("LocalService",)),
    "S-1-5-20": ("NT AUTHORITY\\NETWORK SERVICE", ("NetworkService",)),
    "S-1-5-32-544": ("BUILTIN\\Administrators", ()),
    "S-1-5-32-545": ("BUILTIN\\Users", ()),
    "S-1-5-32-546": ("BUILTIN\\Guests", ()),
    "S-1-5-32-547": ("BUILTIN\\Power Users", ()),
    "S-1-5-32-548": ("BUILTIN\\Account Operators", ()),
    "S-1-5-32-549": ("BUILTIN\\Server Operators", ()),
    "S-1-5-32-550": ("BUILTIN\\Print Operators", ()),
    "S-1-5-32-551": ("BUILTIN\\Backup Operators", ()),
    "S-1-5-32-552": ("BUILTIN\\Replicator", ()),
    "S-1-5-32-554": ("BUILTIN\\Pre-Windows 2000 Compatible Access", ()),
    "S-1-5-32-555": ("BUILTIN\\Remote Desktop Users", ()),
    "S-1-5-32-556": ("BUILTIN\\Network Configuration Operators", ()),
    "S-1-5-32-558": ("BUILTIN\\Performance Monitor Users", ()),
    "S-1-5-32-559": ("BUILTIN\\Performance Log Users", ()),
    "S-1-5-32-562": ("BUILTIN\\Distributed COM Users", ()),
    "S-1-5-32-568": ("BUILTIN\\IIS_IUSRS", ()),
    "S-1-5-32-573": ("BUILTIN\\Event Log Readers", ()),
    "S-1-5-32-580": ("BUILTIN\\Remote Management Users", ()),
    "S-1-5-80-0": ("NT SERVICE\\ALL SERVICES", ()),
    "S-1-5-90-0": ("Window Manager\\Window Manager Group", ()),
    "S-1-5-113": ("NT AUTHORITY\\Local account", ()),
    "S-1-5-114": ("NT AUTHORITY\\Local account and member of Administrators group", ()),
}

# Who holds "Log on as a batch job" on an IIS member server before any GPO defines it: the member
# server defaults (Administrators, Backup Operators, Performance Log Users) and IIS_IUSRS.
DEFAULT_BATCH_LOGON_HOLDERS = ("S-1-5-32-544", "S-1-5-32-551", "S-1-5-32-559", "S-1-5-32-568")


def _build_name_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for sid, (display, aliases) in WELL_KNOWN_SIDS.items():
        names = [display, *aliases]
        if "\\" in display:
            names.append(display.split("\\", 1)[1])
        for name in names:
            index.setdefault(name.lower(), sid)
    return index


_NAME_INDEX = _build_name_index()


def well_known_sid(name: str) -> str | None:
    """The SID of a well-known principal named as Windows displays it, or None.

    ``BUILTIN\\Administrators``, ``Administrators``, ``NT AUTHORITY\\NETWORK SERVICE``,
    ``Everyone`` and ``IIS_IUSRS`` are all accepted, case-insensitively.
    """
    return _NAME_INDEX.get(name.strip().lower())


def well_known_name(sid: str) -> str | None:
    entry = WELL_KNOWN_SIDS.get(sid.upper())
    return entry[0] if entry else None
