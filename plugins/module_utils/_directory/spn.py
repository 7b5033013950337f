# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""SPNs in the directory: the reads, the writes, and the engines of webfarm.winauth.spn and spn_info.

The decisions are made by the pure functions of ``spn_rules`` and ``spn_names``; this file reads
and writes. Cost of a change: one Global Catalog search for every SPN to check, then one modify
per touched account (each holder an SPN moves from, then the account itself), whatever the number
of SPNs.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field

from ansible_collections.webfarm.winauth.plugins.module_utils._directory.objects import find_object, parse_identity
from ansible_collections.webfarm.winauth.plugins.module_utils._directory.operations import Directory
from ansible_collections.webfarm.winauth.plugins.module_utils._directory.outcome import Outcome
from ansible_collections.webfarm.winauth.plugins.module_utils._directory.spn_names import (
    SPN_ATTRIBUTE,
    Spn,
    build_desired,
    forest_filter,
    parse_spn,
    pattern_filter,
    validate_pattern,
)
from ansible_collections.webfarm.winauth.plugins.module_utils._directory.spn_rules import (
    Account,
    SpnPlan,
    account_from_entry,
    conflict_message,
    find_conflicts,
    find_duplicates,
    host_owners,
    match_queries,
    plan_spns,
    purge_classes_for,
    spn_warnings,
)
from ansible_collections.webfarm.winauth.plugins.module_utils._windows import ldap_codes as codes
from ansible_collections.webfarm.winauth.plugins.module_utils._windows.errors import (
    DirectoryError,
    InvalidInput,
    WinauthError,
)

ACCOUNT_ATTRIBUTES = ("distinguishedName", "sAMAccountName", "objectClass", "dNSHostName", SPN_ATTRIBUTE, "objectSid",
                      "objectGUID")
# Stands in for the bound domain while the input is checked before connecting.
_CHECK_DOMAIN = "domain.invalid"


def find_account(conn: Directory, name: str, parameter: str = "account") -> Account:
    """The account named ``name`` (user, computer, MSA or gMSA) with its SPNs; InvalidInput otherwise."""
    account = account_from_entry(find_object(conn, name, ACCOUNT_ATTRIBUTES, parameter=parameter))
    if "user" not in {c.lower() for c in account.object_classes}:
        raise InvalidInput("%s=%s is a %s (%s), not an account: SPNs live on users, computers and (group) managed "
                           "service accounts" % (parameter, name, account.kind, account.dn))
    return account


def search_forest(conn: Directory, ldap_filter: str) -> list[Account]:
    """One search of the whole forest through the Global Catalog of the connected DC."""
    if not ldap_filter:
        return []
    try:
        gc = conn.global_catalog()
    except WinauthError as exc:
        raise DirectoryError("the forest-wide SPN search needs the Global Catalog of %s (port %d), which failed: %s"
                             % (conn.info.server, conn.options.gc_port, exc)) from exc
    with gc:
        entries = gc.search("", ldap_filter, list(ACCOUNT_ATTRIBUTES))
    return [account_from_entry(entry) for entry in entries]


def forest_holders(conn: Directory, spns: t.Sequence[Spn], trap_hosts: t.Sequence[str] = ()) -> list[Account]:
    """Accounts holding any of ``spns``, and owners of ``trap_hosts``: one Global Catalog search."""
    return search_forest(conn, forest_filter([spn.value for spn in spns], trap_hosts))


def check_moves_in_domain(conn: Directory, plan: SpnPlan) -> None:
    """Refuse, before any write, to move an SPN from a holder this DC cannot write (another domain)."""
    suffix = "," + conn.info.default_naming_context.lower()
    for dn in plan.moves:
        if not dn.lower().endswith(suffix):
            raise InvalidInput("on_conflict=move: %s holds %s but lives outside %s; this DC cannot change it. Remove "
                               "the SPN there (with server= a DC of that domain) and run again; nothing was written"
                               % (dn, ", ".join(plan.moves[dn]), conn.info.dns_domain))


def apply_spn_plan(conn: Directory, plan: SpnPlan) -> None:
    """Write the plan: holders first (so the DC's uniqueness check passes), then the account."""
    moved: list[tuple[str, list[str]]] = []
    for dn, values in plan.moves.items():
        if not values:
            continue
        try:
            conn.modify(dn, {SPN_ATTRIBUTE: [("delete", values)]})
        except WinauthError as exc:
            # A later holder refused (no write right on it, say): the earlier ones get their SPNs back, so
            # that no SPN ends on no account.
            message = "%s; nothing was added to %s" % (exc, plan.account.label)
            if moved:
                message += _restore_holders(conn, moved)
            raise type(exc)(message) from exc
        moved.append((dn, values))
    ops: list[tuple[str, list[t.Any]]] = []
    if plan.to_remove:
        ops.append(("delete", list(plan.to_remove)))
    if plan.to_add:
        ops.append(("add", list(plan.to_add)))
    if not ops:
        return
    try:
        conn.modify(plan.account.dn, {SPN_ATTRIBUTE: ops})
    except WinauthError as exc:
        message = str(exc)
        result = getattr(exc, "ldap_result", None)
        if codes.is_duplicate_spn_refusal(result):
            message = _explain_race(conn, plan, codes.message_of(result))
        if moved:
            message += _restore_holders(conn, moved)
        raise type(exc)(message) from exc


def _explain_race(conn: Directory, plan: SpnPlan, dc_message: str) -> str:
    """The DC refused a duplicate our pre-check did not see: name the holder, as the pre-check does."""
    added = [parse_spn(v) for v in plan.to_add]
    try:
        holders = forest_holders(conn, added)
    except WinauthError:
        holders = []
    conflicts = find_conflicts(added, plan.account.dn, holders)
    if conflicts:
        return conflict_message(conflicts, plan.account) + " (registered there after this task checked)"
    return ("duplicate SPN: the DC refused to add %s to %s because another account holds one of them, but the "
            "Global Catalog does not show it yet (replication in progress?). DC said: %s. Find it with "
            "webfarm.winauth.spn_info and run again" % (", ".join(plan.to_add), plan.account.label, dc_message))


def _restore_holders(conn: Directory, moved: list[tuple[str, list[str]]]) -> str:
    restored, failed = [], []
    for dn, values in moved:
        try:
            conn.modify(dn, {SPN_ATTRIBUTE: [("add", values)]})
            restored.append(dn)
        except WinauthError as exc:
            failed.append("%s (%s: %s)" % (dn, ", ".join(values), exc))
    text = ""
    if restored:
        text += "; the SPNs removed for the move were put back on %s" % ", ".join(restored)
    if failed:
        text += "; COULD NOT put the moved SPNs back on %s: restore them by hand" % "; ".join(failed)
    return text


# --------------------------------------------------------------------------- webfarm.winauth.spn

@dataclass
class SpnRequest:
    """The spn module's options (see its documentation)."""

    account: str
    spns: list[str] = field(default_factory=list)
    hosts: list[str] = field(default_factory=list)
    service_class: str | None = None
    dns_domain: str | None = None
    state: str = "present"
    purge: bool = False
    on_conflict: str = "fail"

    def check(self) -> None:
        """Every input error, before any network traffic."""
        if self.purge and self.state == "absent":
            raise InvalidInput("purge=true only applies to state=present (it makes the account's SPNs of the named "
                               "service classes exactly the list); drop purge, or use state=present")
        try:
            parse_identity(self.account)
        except InvalidInput as exc:
            raise InvalidInput("account: %s" % exc) from None
        if not self.spns and not self.hosts and not (self.purge and self.service_class):
            verb = "register" if self.state == "present" else "remove"
            raise InvalidInput("spns=[] and no hosts: nothing to %s on %s. Fix: list the SPNs (spns), or the host "
                               "names to build them from (hosts); to remove every SPN of a service class, give "
                               "service_class with purge=true" % (verb, self.account))
        build_desired(self.spns, self.hosts, self.service_class, self.dns_domain or _CHECK_DOMAIN)


def ensure_spn(conn: Directory, request: SpnRequest, check_mode: bool) -> Outcome:
    """Plan against the forest (one Global Catalog search), refuse or move conflicts, write unless check_mode."""
    desired = build_desired(request.spns, request.hosts, request.service_class,
                            request.dns_domain or conn.info.dns_domain)
    account = find_account(conn, request.account)
    forest: list[Account] = []
    warnings: list[str] = []
    if request.state == "present" and desired:
        trap_hosts = [spn.host for spn in desired if spn.class_key == "http"]
        forest = forest_holders(conn, desired, trap_hosts)
        warnings = spn_warnings(account, desired, host_owners(forest, trap_hosts))
    plan = plan_spns(account, desired, request.state, purge=request.purge,
                     purge_classes=purge_classes_for(desired, request.service_class, request.hosts),
                     holders=forest, on_conflict=request.on_conflict)
    check_moves_in_domain(conn, plan)
    if plan.changed and not check_mode:
        apply_spn_plan(conn, plan)
    return Outcome(changed=plan.changed, warnings=warnings, diff=plan.diff(), result={
        "dn": account.dn, "sam_account_name": account.sam_account_name, "spns": plan.after, "added": plan.to_add,
        "removed": plan.to_remove, "moved_from": plan.moved_from, **plan.before_state()})


# --------------------------------------------------------------------------- webfarm.winauth.spn_info

def check_lookup(spns: t.Sequence[str], accounts: t.Sequence[str], duplicates: bool) -> list[str]:
    """The validated patterns of an spn_info task (before any network traffic)."""
    if not (spns or accounts or duplicates):
        raise InvalidInput("nothing to look up: give spns (patterns, like setspn -Q), accounts (like setspn -L) or "
                           "duplicates=true (like setspn -X)")
    return [validate_pattern(pattern) for pattern in spns]


def look_up_spns(conn: Directory, patterns: t.Sequence[str], accounts: t.Sequence[str], duplicates: bool) -> Outcome:
    """``setspn -Q`` (patterns), ``-L`` (accounts) and ``-X`` (duplicates), each with as few searches as it takes."""
    result: dict[str, t.Any] = {"queries": [], "accounts": [], "duplicates": []}
    if duplicates:
        everyone = search_forest(conn, "(servicePrincipalName=*)")  # one search answers both questions
        result["duplicates"] = find_duplicates(everyone)
        result["queries"] = match_queries(patterns, everyone)
    elif patterns:
        result["queries"] = match_queries(patterns, search_forest(conn, pattern_filter(patterns)))
    for name in accounts:
        account = find_account(conn, name, parameter="accounts")
        result["accounts"].append({"name": name, "dn": account.dn, "sam_account_name": account.sam_account_name,
                                   "kind": account.kind, "spns": account.spns})
    return Outcome(result=result)


def spn_values_held(conn: Directory, spns: t.Sequence[Spn]) -> set[str]:
    """The lower-cased SPNs among ``spns`` that some account of the forest holds (one Global Catalog search)."""
    return {v.lower() for holder in forest_holders(conn, spns) for v in holder.spns}
