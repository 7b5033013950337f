# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""Delegation settings in the directory: reads, SID resolution, the one write, and the engine of
webfarm.winauth.delegation (the decisions are in ``delegation_rules``)."""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

from ansible_collections.webfarm.winauth.plugins.module_utils._directory.delegation_rules import (
    ALLOWED_TO_ACT,
    ATTRIBUTES,
    DelegationPlan,
    DelegationRequest,
    DelegationState,
    delegation_warnings,
    plan_delegation,
    render_view,
)
from ansible_collections.webfarm.winauth.plugins.module_utils._directory.objects import (
    accounts_by_sid,
    find_object,
    parse_identity,
)
from ansible_collections.webfarm.winauth.plugins.module_utils._directory.operations import Directory
from ansible_collections.webfarm.winauth.plugins.module_utils._directory.outcome import Outcome
from ansible_collections.webfarm.winauth.plugins.module_utils._directory.spn import (
    ACCOUNT_ATTRIBUTES,
    spn_values_held,
)
from ansible_collections.webfarm.winauth.plugins.module_utils._directory.spn_names import parse_spn, unique_spns
from ansible_collections.webfarm.winauth.plugins.module_utils._directory.spn_rules import Account, account_from_entry
from ansible_collections.webfarm.winauth.plugins.module_utils._windows import ldap_codes as codes
from ansible_collections.webfarm.winauth.plugins.module_utils._windows.errors import (
    Conflict,
    DirectoryError,
    InsufficientRights,
    InvalidInput,
    WinauthError,
)


def read_account(conn: Directory, name: str) -> tuple[Account, DelegationState]:
    entry = find_object(conn, name, list(ACCOUNT_ATTRIBUTES) + list(ATTRIBUTES), parameter="account")
    account = account_from_entry(entry)
    if "user" not in {c.lower() for c in account.object_classes}:
        raise InvalidInput("account=%s is a %s (%s), not an account: delegation is set on users, computers and "
                           "(group) managed service accounts" % (name, account.kind, account.dn))
    state = DelegationState(
        dn=account.dn,
        user_account_control=entry.integer("userAccountControl") or 0,
        allowed_to_delegate_to=entry.texts("msDS-AllowedToDelegateTo"),
        allowed_to_act=entry.first(ALLOWED_TO_ACT) or None,
    )
    return account, state


WRITE_ATTEMPTS = 3


def resolve_principals(conn: Directory, names: t.Sequence[str]) -> list[str]:
    """The SIDs of the accounts named in rbcd_principals (one lookup each, in order)."""
    sids = []
    for name in names:
        entry = find_object(conn, name, ["objectSid"], parameter="rbcd_principals")
        sid = entry.sid()
        if not sid:
            raise InvalidInput("rbcd_principals=%s: %s has no objectSid, so it cannot be a delegating principal"
                               % (name, entry.dn))
        sids.append(sid)
    return sids


def principals_by_sid(conn: Directory, sids: t.Iterable[str]) -> dict[str, dict[str, t.Any]]:
    """SID (upper-case) -> {sid, name, dn} with one search; SIDs nobody has map to name and dn None."""
    wanted = list(dict.fromkeys(s.upper() for s in sids))
    accounts = accounts_by_sid(conn, wanted)
    return {sid: {"sid": sid, "name": accounts[sid].text("sAMAccountName") if sid in accounts else None,
                  "dn": accounts[sid].dn if sid in accounts else None} for sid in wanted}


def apply_delegation_plan(conn: Directory, plan: DelegationPlan) -> None:
    """One modify of the account; explain the refusals a DC may give."""
    try:
        conn.modify(plan.dn, plan.changes)
    except WinauthError as exc:
        result = getattr(exc, "ldap_result", None)
        if codes.is_system_only_refusal(result) and ALLOWED_TO_ACT in plan.changes:
            raise DirectoryError(
                "the DC refused to write %s on %s: it treats that attribute as system-only (Samba DCs do; Windows "
                "DCs accept it over LDAP). Nothing was written. On a Samba DC set it there with samba-tool "
                "delegation add-principal / del-principal (DC said: %s)" % (ALLOWED_TO_ACT, plan.dn,
                                                                            codes.message_of(result))) from exc
        if isinstance(exc, InsufficientRights):
            raise InsufficientRights(
                "%s. Writing delegation settings also needs the user right 'Enable computer and user accounts to be "
                "trusted for delegation' (SeEnableDelegationPrivilege) on the DCs, held by Administrators by default"
                % exc) from exc
        raise


# --------------------------------------------------------------------------- webfarm.winauth.delegation

@dataclass
class DelegationTask:
    """The delegation module's options (see its documentation), checked before any network traffic."""

    account: str
    allowed_to_delegate_to: list[str] | None = None
    protocol_transition: bool | None = None
    unconstrained: bool | None = None
    allow_unconstrained: bool = False
    rbcd_principals: list[str] | None = None
    state: str = "present"

    def request(self) -> DelegationRequest:
        """The planner's request; InvalidInput for every input error."""
        if self.unconstrained and not self.allow_unconstrained:
            raise InvalidInput("unconstrained=true is refused without allow_unconstrained=true: every ticket sent to "
                               "%s would carry the user's TGT, usable against any service of the forest. Use "
                               "allowed_to_delegate_to (constrained) or rbcd_principals on the target instead, or "
                               "set allow_unconstrained=true if you really mean it" % self.account)
        a2d = None if self.allowed_to_delegate_to is None else unique_spns(
            parse_spn(value, "allowed_to_delegate_to") for value in self.allowed_to_delegate_to)
        for name in self.rbcd_principals or []:
            try:
                parse_identity(name)
            except InvalidInput as exc:
                raise InvalidInput("rbcd_principals: %s" % exc) from None
        request = DelegationRequest(state=self.state, allowed_to_delegate_to=a2d,
                                    protocol_transition=self.protocol_transition, unconstrained=self.unconstrained)
        if not (request.manages_anything or self.rbcd_principals is not None):
            raise InvalidInput("nothing to manage: give allowed_to_delegate_to, protocol_transition, unconstrained or "
                               "rbcd_principals")
        return request


def ensure_delegation(conn: Directory, task: DelegationTask, request: DelegationRequest, check_mode: bool) -> Outcome:
    """Read the account, resolve the RBCD principals, plan one modify, write it unless check_mode.

    ``request`` is ``task.request()``, made before connecting so that bad input costs no network traffic.
    """
    if task.rbcd_principals is not None:
        request.rbcd_sids = resolve_principals(conn, task.rbcd_principals)
    for attempt in range(1, WRITE_ATTEMPTS + 1):
        account, current = read_account(conn, task.account)
        plan = plan_delegation(current, request)
        if not plan.changed or check_mode:
            break
        try:
            apply_delegation_plan(conn, plan)
        except Conflict:
            # The account changed between the read and the write: read it again and plan from that.
            if attempt == WRITE_ATTEMPTS:
                raise
            continue
        break
    unheld: list[str] = []
    a2d = request.allowed_to_delegate_to
    if a2d and task.state != "absent":
        held = spn_values_held(conn, a2d)
        unheld = [spn.value for spn in a2d if spn.key not in held]
    names = principals_by_sid(conn, plan.before.rbcd_sids + plan.after.rbcd_sids)
    after = plan.after
    labels = {sid: ("%s (%s)" % (info["name"], sid) if info["name"] else sid) for sid, info in names.items()}
    return Outcome(
        changed=plan.changed, warnings=delegation_warnings(plan, request, account.label, unheld),
        diff={"before": render_view(account.dn, plan.before, labels), "after": render_view(account.dn, after, labels)},
        result={"dn": account.dn, "sam_account_name": account.sam_account_name,
                "allowed_to_delegate_to": after.allowed_to_delegate_to,
                "protocol_transition": after.protocol_transition, "unconstrained": after.unconstrained,
                "user_account_control": after.user_account_control,
                "rbcd_principals": [names[sid.upper()] for sid in after.rbcd_sids], "before": plan.before.to_dict()})
