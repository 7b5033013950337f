# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""Guard rails of webfarm.winauth.gpo_user_rights: edits that lock out whole computers need an explicit opt-in.

Pure logic, no I/O: the engine (``rights``) calls it with the resolved SIDs, before SYSVOL is read or written.

* ``mode=exact`` with ``accounts: []`` defines the right with no holder on every computer the GPO applies to
  (for SeBatchLogonRight: no application pool with a domain identity starts, the site answers 503).
* A ``SeDeny*`` right granted to a principal that stands for (nearly) everybody denies that logon to everybody,
  the administrators included: SeDenyNetworkLogonRight for Everyone cuts every remote tool off, WinRM included.
"""

from __future__ import annotations

import re
import typing as t

from ansible_collections.webfarm.winauth.plugins.module_utils._windows.errors import InvalidInput
from ansible_collections.webfarm.winauth.plugins.module_utils._windows.principals import well_known_name, well_known_sid
from ansible_collections.webfarm.winauth.plugins.module_utils._windows.sid import is_sid, normalize_sid

# [MS-DTYP] 2.4.2.4: the well-known groups every user (or every computer) of the domain is in.
BROAD_SIDS = frozenset({"S-1-1-0", "S-1-5-11", "S-1-5-32-545"})
# Domain Users (513) and Domain Computers (515) of any domain.
_BROAD_DOMAIN_RID = re.compile(r"^S-1-5-21-\d+-\d+-\d+-(513|515)$", re.IGNORECASE)
_BROAD_RID_NAMES = {"513": "Domain Users", "515": "Domain Computers"}


def broad_name(sid: str) -> str | None:
    """The name of a principal that stands for (nearly) every user or computer, or None."""
    sid = sid.upper()
    if sid in BROAD_SIDS:
        return well_known_name(sid)
    match = _BROAD_DOMAIN_RID.match(sid)
    return "%s (%s)" % (_BROAD_RID_NAMES[match.group(1)], sid) if match else None


def check_known_holders(right: str, mode: str, state: str, accounts: t.Sequence[str], allow_broad_deny: bool) -> None:
    """The broad-deny guard for the accounts known without the directory (well-known names, SIDs): before any
    network traffic, so a deny to Everyone fails whether or not the GPO exists yet."""
    if mode not in ("add", "exact") or not right.lower().startswith("sedeny"):
        return
    sids = [sid for sid in (well_known_sid(a) or (normalize_sid(a) if is_sid(a) else None) for a in accounts) if sid]
    check_rights_edit(right, mode, state, sids, True, allow_broad_deny)


def check_rights_edit(right: str, mode: str, state: str, sids: t.Sequence[str], allow_no_holders: bool,
                      allow_broad_deny: bool) -> None:
    """InvalidInput, naming the option, the value and the opt-in, for an edit that locks out whole computers."""
    if state != "present":
        return
    if mode == "exact" and not sids and not allow_no_holders:
        raise InvalidInput(
            "accounts=[] with mode=exact would define %s with no holder at all on every computer the GPO applies "
            "to%s. Set allow_no_holders: true if that is what you want, use state=absent to stop defining the right "
            "(local policy applies again), or list the accounts that must keep it"
            % (right, " (no application pool with a domain identity could start: its sites would answer 503)"
               if right.lower() == "sebatchlogonright" else ""))
    if mode in ("add", "exact") and right.lower().startswith("sedeny") and not allow_broad_deny:
        broad = [name for name in (broad_name(s) for s in sids) if name]
        if broad:
            raise InvalidInput(
                "accounts: %s with %s would deny that logon to (nearly) everybody on every computer the GPO applies "
                "to, the administrators included. List the specific accounts to deny, or set allow_broad_deny: true "
                "if that is what you want" % (", ".join(broad), right))
