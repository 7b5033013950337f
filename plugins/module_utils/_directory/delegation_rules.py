# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""Kerberos delegation settings of one account: planning, the RBCD descriptor, diff and warnings. Pure logic, no I/O.

Three mechanisms, all on the account named by the task:
- constrained delegation: msDS-AllowedToDelegateTo lists the SPNs this account
  may get tickets for on behalf of a user (S4U2Proxy); the userAccountControl
  flag TRUSTED_TO_AUTH_FOR_DELEGATION ("use any authentication protocol") adds
  protocol transition (S4U2Self with a forwardable ticket), needed when the user
  did not log on with Kerberos;
- resource-based constrained delegation (RBCD): this account is the *target*;
  msDS-AllowedToActOnBehalfOfOtherIdentity holds a security descriptor whose
  access-allowed ACEs name the principals that may delegate to it;
- unconstrained delegation: the userAccountControl flag TRUSTED_FOR_DELEGATION.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field

from ansible_collections.webfarm.winauth.plugins.module_utils._directory.spn_names import Spn, spn_key
from ansible_collections.webfarm.winauth.plugins.module_utils._windows.errors import InvalidInput
from ansible_collections.webfarm.winauth.plugins.module_utils._windows.security_descriptor import (
    ACCESS_ALLOWED_ACE_TYPE,
    Ace,
    AnyAce,
    DescriptorError,
    SecurityDescriptor,
    is_plain,
    parse_descriptor,
)

UF_TRUSTED_FOR_DELEGATION = 0x00080000
UF_TRUSTED_TO_AUTH_FOR_DELEGATION = 0x01000000

ALLOWED_TO_DELEGATE_TO = "msDS-AllowedToDelegateTo"
ALLOWED_TO_ACT = "msDS-AllowedToActOnBehalfOfOtherIdentity"
USER_ACCOUNT_CONTROL = "userAccountControl"
ATTRIBUTES = (ALLOWED_TO_DELEGATE_TO, ALLOWED_TO_ACT, USER_ACCOUNT_CONTROL)
BUILTIN_ADMINISTRATORS = "S-1-5-32-544"
# CC DC LC SW RP WP DT LO CR SD RC WD WO: what Windows and Samba write for an RBCD principal.
# The KDC checks these specific rights; a generic GENERIC_ALL bit would not be expanded.
RBCD_ACCESS_MASK = 0x000F01FF


class DelegationError(InvalidInput):
    """A request or a directory value the module cannot work with, explained."""


def rbcd_descriptor(sids: t.Iterable[str]) -> SecurityDescriptor:
    """``O:BAD:(A;;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;<sid>)...``: what Windows and Samba write for RBCD."""
    return SecurityDescriptor(owner=BUILTIN_ADMINISTRATORS,
                              dacl=[Ace(ACCESS_ALLOWED_ACE_TYPE, 0, RBCD_ACCESS_MASK, sid) for sid in sids])


def with_allowed_sids(sd: SecurityDescriptor | None, sids: t.Sequence[str]) -> SecurityDescriptor:
    """``sd`` whose access-allowed principals are exactly ``sids``; everything else kept.

    Existing ACEs of principals that stay are kept as they are (mask and flags);
    new principals get an ACE with the RBCD access mask, appended in order.
    """
    if sd is None:
        return rbcd_descriptor(sids)
    wanted = [s.upper() for s in sids]
    kept: list[AnyAce] = []
    present: set[str] = set()
    for ace in sd.dacl or []:
        if is_plain(ace) and ace.ace_type == ACCESS_ALLOWED_ACE_TYPE and ace.sid:
            if ace.sid.upper() not in wanted:
                continue
            present.add(ace.sid.upper())
        kept.append(ace)
    kept.extend(Ace(ACCESS_ALLOWED_ACE_TYPE, 0, RBCD_ACCESS_MASK, sid) for sid in sids if sid.upper() not in present)
    return SecurityDescriptor(control=sd.control, owner=sd.owner, group=sd.group, sacl=sd.sacl, dacl=kept,
                              dacl_revision=sd.dacl_revision)


def is_empty(sd: SecurityDescriptor) -> bool:
    """No ACE and no SACL: the attribute can simply be cleared."""
    return not sd.dacl and sd.sacl is None


@dataclass
class DelegationState:
    """The delegation attributes of one account, as read."""

    dn: str
    user_account_control: int
    allowed_to_delegate_to: list[str] = field(default_factory=list)
    allowed_to_act: bytes | None = None

    def descriptor(self) -> SecurityDescriptor | None:
        if not self.allowed_to_act:
            return None
        try:
            return parse_descriptor(self.allowed_to_act)
        except DescriptorError as exc:
            raise DelegationError("%s on %s holds a value that is not a security descriptor (%s); fix or clear it "
                                  "with another tool first" % (ALLOWED_TO_ACT, self.dn, exc)) from exc

    def rbcd_sids(self) -> list[str]:
        sd = self.descriptor()
        return sd.allowed_sids() if sd else []


@dataclass
class DelegationRequest:
    """What a task asks for. ``None`` leaves a setting as it is."""

    state: str = "present"
    allowed_to_delegate_to: list[Spn] | None = None
    protocol_transition: bool | None = None
    unconstrained: bool | None = None
    rbcd_sids: list[str] | None = None

    @property
    def manages_anything(self) -> bool:
        return any(v is not None for v in (self.allowed_to_delegate_to, self.protocol_transition,
                                           self.unconstrained, self.rbcd_sids))


@dataclass
class DelegationView:
    """The settings in the module's own terms, before or after."""

    allowed_to_delegate_to: list[str]
    protocol_transition: bool
    unconstrained: bool
    rbcd_sids: list[str]
    user_account_control: int

    def to_dict(self) -> dict[str, t.Any]:
        """The settings as a result key (the module's ``before``): what a rollback writes back."""
        return {"allowed_to_delegate_to": list(self.allowed_to_delegate_to),
                "protocol_transition": self.protocol_transition, "unconstrained": self.unconstrained,
                "rbcd_sids": list(self.rbcd_sids), "user_account_control": self.user_account_control}


@dataclass
class DelegationPlan:
    dn: str
    before: DelegationView
    after: DelegationView
    changes: dict[str, list[tuple[str, list[t.Any]]]] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return bool(self.changes)

    @property
    def added_delegate_to(self) -> list[str]:
        before = {spn_key(v) for v in self.before.allowed_to_delegate_to}
        return [v for v in self.after.allowed_to_delegate_to if spn_key(v) not in before]


def _view(uac: int, a2d: list[str], sids: list[str]) -> DelegationView:
    return DelegationView(allowed_to_delegate_to=list(a2d),
                          protocol_transition=bool(uac & UF_TRUSTED_TO_AUTH_FOR_DELEGATION),
                          unconstrained=bool(uac & UF_TRUSTED_FOR_DELEGATION),
                          rbcd_sids=list(sids), user_account_control=uac)


def _plan_list(current: list[str], desired: list[str], state: str, key: t.Callable[[str], str]) -> list[str]:
    """The list after applying ``state`` (present, absent, exact); existing spellings are kept."""
    desired_keys = [key(v) for v in desired]
    if state == "absent":
        return [v for v in current if key(v) not in desired_keys]
    current_keys = {key(v) for v in current}
    kept = current if state == "present" else [v for v in current if key(v) in desired_keys]
    added: list[str] = []
    for value in desired:
        if key(value) not in current_keys and key(value) not in {key(a) for a in added}:
            added.append(value)
    return kept + added


def plan_delegation(state: DelegationState, request: DelegationRequest) -> DelegationPlan:
    """Compute the one modify that brings the account to the request."""
    before_sids = state.rbcd_sids()
    before = _view(state.user_account_control, state.allowed_to_delegate_to, before_sids)
    changes: dict[str, list[tuple[str, list[t.Any]]]] = {}

    a2d = list(state.allowed_to_delegate_to)
    if request.allowed_to_delegate_to is not None:
        a2d = _plan_list(state.allowed_to_delegate_to, [s.value for s in request.allowed_to_delegate_to],
                         request.state, spn_key)
        after_keys = {spn_key(v) for v in a2d}
        removed = [v for v in state.allowed_to_delegate_to if spn_key(v) not in after_keys]
        before_keys = {spn_key(v) for v in state.allowed_to_delegate_to}
        added = [v for v in a2d if spn_key(v) not in before_keys]
        ops = ([("delete", removed)] if removed else []) + ([("add", added)] if added else [])
        if ops:
            changes[ALLOWED_TO_DELEGATE_TO] = ops

    uac = state.user_account_control
    if request.protocol_transition is not None:
        uac = uac | UF_TRUSTED_TO_AUTH_FOR_DELEGATION if request.protocol_transition \
            else uac & ~UF_TRUSTED_TO_AUTH_FOR_DELEGATION
    if request.unconstrained is not None:
        uac = uac | UF_TRUSTED_FOR_DELEGATION if request.unconstrained else uac & ~UF_TRUSTED_FOR_DELEGATION
    if uac != state.user_account_control:
        # Compare-and-swap: the value read is deleted by value, so the DC refuses the modify when anyone
        # changed the account meanwhile (disabled it, say) instead of the old flags being written back.
        changes[USER_ACCOUNT_CONTROL] = [("delete", [str(state.user_account_control)]), ("add", [str(uac)])]

    sids = before_sids
    if request.rbcd_sids is not None:
        sids = _plan_list(before_sids, request.rbcd_sids, request.state, str.upper)
        if [s.upper() for s in sids] != [s.upper() for s in before_sids]:
            new_sd = with_allowed_sids(state.descriptor(), sids)
            # Compare-and-swap as above: an RBCD principal added meanwhile is never dropped.
            ops = [("delete", [state.allowed_to_act])] if state.allowed_to_act else []
            if not is_empty(new_sd):
                ops.append(("add", [new_sd.encode()]))
            changes[ALLOWED_TO_ACT] = ops

    return DelegationPlan(dn=state.dn, before=before, after=_view(uac, a2d, sids), changes=changes)


def render_view(dn: str, view: DelegationView, names: dict[str, str] | None = None) -> str:
    """Readable text of one account's delegation settings, for the diff."""
    names = names or {}
    lines = ["%s:" % dn, "  allowed_to_delegate_to:"]
    lines.extend("    - %s" % v for v in sorted(view.allowed_to_delegate_to, key=str.lower))
    if not view.allowed_to_delegate_to:
        lines[-1] += " []"
    lines.append("  protocol_transition: %s" % str(view.protocol_transition).lower())
    lines.append("  unconstrained: %s" % str(view.unconstrained).lower())
    lines.append("  rbcd_principals:%s" % ("" if view.rbcd_sids else " []"))
    lines.extend("    - %s" % (names.get(sid.upper()) or sid) for sid in view.rbcd_sids)
    return "\n".join(lines) + "\n"


def delegation_warnings(plan: DelegationPlan, request: DelegationRequest, label: str,
                        unheld_spns: t.Sequence[str] = ()) -> list[str]:
    warnings: list[str] = []
    after = plan.after
    if after.unconstrained:
        text = ("%s is trusted for unconstrained delegation: every service ticket sent to it carries the user's "
                "TGT, so whoever controls this account can act as those users towards any service of the forest. "
                "Prefer constrained delegation (allowed_to_delegate_to) or resource-based delegation "
                "(rbcd_principals on the target)" % label)
        if request.unconstrained is None:
            text += "; set unconstrained: false (with allowed_to_delegate_to) to clear it"
        warnings.append(text + ".")
    if after.protocol_transition and not after.allowed_to_delegate_to:
        warnings.append("protocol_transition is on for %s but allowed_to_delegate_to is empty: protocol transition "
                        "only lets it obtain tickets for the services listed there, so it has no effect yet."
                        % label)
    for spn in unheld_spns:
        warnings.append("allowed_to_delegate_to: no account of the forest holds %s, so delegation to it fails until "
                        "the service's account registers it (webfarm.winauth.spn)." % spn)
    return warnings
