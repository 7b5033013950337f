# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""Who may retrieve a gMSA's password (msDS-GroupMSAMembership): the access check, the plan, the diff. Pure logic.

A domain controller hands out ``msDS-ManagedPassword`` only to a caller whose token is granted
READ_PROPERTY (RP, 0x10) by the security descriptor in ``msDS-GroupMSAMembership`` ([MS-ADTS]
3.1.1.4.4, extended access checks): an ordinary DACL walk in ACE order, where the first ACE of a
SID in the token that mentions the bit decides, a deny before an allow. ``Test-ADServiceAccount``
on a node asks exactly this for the node's computer account. The token of a computer that logs on
holds its own SID, its groups (transitively: the directory's ``tokenGroups``) and the SIDs every
network logon has (Everyone, Authenticated Users, This Organization, Network).

``Set-ADServiceAccount -PrincipalsAllowedToRetrieveManagedPassword`` writes
``O:BAD:(A;;0xf01ff;;;<sid>)...``; the module writes the same form (the RBCD descriptor's).
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

from ansible_collections.webfarm.winauth.plugins.module_utils._directory.delegation_rules import (
    RBCD_ACCESS_MASK,
    rbcd_descriptor,
    with_allowed_sids,
)
from ansible_collections.webfarm.winauth.plugins.module_utils._windows.errors import InvalidInput
from ansible_collections.webfarm.winauth.plugins.module_utils._windows.security_descriptor import (
    ACCESS_ALLOWED_ACE_TYPE,
    ACCESS_ALLOWED_OBJECT_ACE_TYPE,
    ACCESS_DENIED_ACE_TYPE,
    ACCESS_DENIED_OBJECT_ACE_TYPE,
    INHERIT_ONLY_ACE,
    Ace,
    DescriptorError,
    ObjectAce,
    SecurityDescriptor,
    parse_descriptor,
)

MEMBERSHIP = "msDS-GroupMSAMembership"
GMSA_CLASS = "msDS-GroupManagedServiceAccount"
READ_PROPERTY = 0x10
GENERIC_ALL = 0x10000000
GENERIC_READ = 0x80000000
PRINCIPAL_SELF = "S-1-5-10"
# Every network logon of a domain account carries these (Everyone, Network, Authenticated Users, This Organization).
LOGON_SIDS = ("S-1-1-0", "S-1-5-2", "S-1-5-11", "S-1-5-15")
MODES = ("verify", "add", "exact")


def _grants_read(mask: int) -> bool:
    return bool(mask & (READ_PROPERTY | GENERIC_ALL | GENERIC_READ))


def retrieval_decision(sd: SecurityDescriptor | None, token: t.Iterable[str], gmsa_sid: str = "") -> tuple[bool, str]:
    """(allowed, why) for a token against the membership descriptor (None: the attribute is not set).

    ``why`` names the deciding ACE's SID, or says that no ACE grants the right.
    """
    if sd is None:
        return False, "%s is not set, so no account may retrieve the password" % MEMBERSHIP
    if sd.dacl is None:
        return True, "the descriptor has no DACL (a NULL DACL grants everyone everything)"
    sids = {s.upper() for s in token} | set(LOGON_SIDS)
    for ace in sd.dacl:
        if not isinstance(ace, Ace) or ace.flags & INHERIT_ONLY_ACE:
            continue
        if isinstance(ace, ObjectAce) and ace.object_type:
            continue  # an ACE for one property or right: not the object-wide read the DC checks
        if ace.ace_type not in (ACCESS_ALLOWED_ACE_TYPE, ACCESS_DENIED_ACE_TYPE, ACCESS_ALLOWED_OBJECT_ACE_TYPE,
                                ACCESS_DENIED_OBJECT_ACE_TYPE):
            continue
        sid = ace.sid.upper()
        if sid == PRINCIPAL_SELF and gmsa_sid:
            sid = gmsa_sid.upper()
        if sid not in sids or not _grants_read(ace.mask):
            continue
        if ace.ace_type in (ACCESS_DENIED_ACE_TYPE, ACCESS_DENIED_OBJECT_ACE_TYPE):
            return False, "denied by an ACE for %s" % ace.sid
        return True, "allowed by an ACE for %s" % ace.sid
    return False, "no ACE of %s grants read to it or to any of its groups" % MEMBERSHIP


def parse_membership(raw: bytes | None, dn: str) -> SecurityDescriptor | None:
    if not raw:
        return None
    try:
        return parse_descriptor(raw)
    except DescriptorError as exc:
        raise InvalidInput("%s on %s holds a value that is not a security descriptor (%s); fix or clear it with "
                           "Set-ADServiceAccount first" % (MEMBERSHIP, dn, exc)) from exc


@dataclass
class MembershipPlan:
    """The descriptor before and after (None: unset), and whether a write is due."""

    before: SecurityDescriptor | None
    after: SecurityDescriptor | None

    @property
    def changed(self) -> bool:
        return _encoded(self.before) != _encoded(self.after)


def _encoded(sd: SecurityDescriptor | None) -> bytes | None:
    return sd.encode() if sd is not None else None


def plan_membership(current: SecurityDescriptor | None, mode: str, wanted: t.Sequence[str],
                    denied: t.Sequence[str]) -> MembershipPlan:
    """``add``: an allow ACE for each principal that may not retrieve yet (``denied``), appended; ``exact``: the
    allowed principals are exactly ``wanted`` (everything else in the descriptor kept); ``verify``: no change."""
    if mode == "verify":
        return MembershipPlan(current, current)
    if mode == "exact":
        return MembershipPlan(current, with_allowed_sids(current, wanted))
    if not denied:
        return MembershipPlan(current, current)
    if current is None or current.dacl is None:
        return MembershipPlan(current, rbcd_descriptor(denied))
    after = SecurityDescriptor(control=current.control, owner=current.owner, group=current.group, sacl=current.sacl,
                               dacl_revision=current.dacl_revision,
                               dacl=list(current.dacl) + [Ace(ACCESS_ALLOWED_ACE_TYPE, 0, RBCD_ACCESS_MASK, sid)
                                                          for sid in denied])
    return MembershipPlan(current, after)


def render_membership(dn: str, sd: SecurityDescriptor | None, names: t.Mapping[str, str]) -> str:
    """The diff text: one line per ACE, the principal by name, what it does to password retrieval."""
    lines = ["dn: %s" % dn]
    if sd is None:
        return "\n".join(lines + ["%s: (not set: nobody may retrieve the password)" % MEMBERSHIP]) + "\n"
    if sd.dacl is None:
        return "\n".join(lines + ["%s: NULL DACL (everyone may retrieve the password)" % MEMBERSHIP]) + "\n"
    for ace in sd.dacl:
        if not isinstance(ace, Ace):
            lines.append("%s: (ACE of type 0x%02x, kept as it is)" % (MEMBERSHIP, ace.ace_type))
            continue
        kind = "deny" if ace.ace_type in (ACCESS_DENIED_ACE_TYPE, ACCESS_DENIED_OBJECT_ACE_TYPE) else "allow"
        label = names.get(ace.sid.upper()) or ace.sid
        lines.append("%s: %s %s (0x%08x)" % (MEMBERSHIP, kind, label, ace.mask))
    if not sd.dacl:
        lines.append("%s: (empty DACL: nobody may retrieve the password)" % MEMBERSHIP)
    return "\n".join(lines) + "\n"
