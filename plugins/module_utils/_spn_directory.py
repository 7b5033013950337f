# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""SPNs in the directory: account lookup, the one forest-wide search, and the writes.

The decisions are made by the pure functions of ``_spn``; this file only reads
and writes. Cost of a change: one Global Catalog search for every SPN to check,
then one modify per touched account (each holder an SPN moves from, then the
account itself), whatever the number of SPNs.
"""

from __future__ import annotations

import typing as t

from ansible_collections.webfarm.winauth.plugins.module_utils._ad_connection import ADConnection, ADError
from ansible_collections.webfarm.winauth.plugins.module_utils._ad_modify import (
    ADWriteError,
    is_duplicate_spn_refusal,
    modify,
)
from ansible_collections.webfarm.winauth.plugins.module_utils._ad_objects import find_object
from ansible_collections.webfarm.winauth.plugins.module_utils._spn import (
    SPN_ATTRIBUTE,
    Account,
    Spn,
    SpnPlan,
    account_from_entry,
    conflict_message,
    find_conflicts,
    forest_filter,
    parse_spn,
    pattern_filter,
)

ACCOUNT_ATTRIBUTES = ("distinguishedName", "sAMAccountName", "objectClass", "dNSHostName", SPN_ATTRIBUTE)


def find_account(conn: ADConnection, name: str, parameter: str = "account") -> Account:
    """The account named ``name`` (user, computer, MSA or gMSA) with its SPNs; ADError otherwise."""
    entry = find_object(conn, name, ACCOUNT_ATTRIBUTES, parameter=parameter)
    account = account_from_entry(entry)
    if "user" not in {c.lower() for c in account.object_classes}:
        raise ADError("%s=%s is a %s (%s), not an account: SPNs live on users, computers and (group) managed "
                      "service accounts" % (parameter, name, account.kind, account.dn))
    return account


def search_forest(conn: ADConnection, ldap_filter: str) -> list[Account]:
    """One search of the whole forest through the Global Catalog of the connected DC."""
    if not ldap_filter:
        return []
    try:
        gc = conn.global_catalog()
    except ADError as exc:
        raise ADError("the forest-wide SPN search needs the Global Catalog of %s (port %d), which failed: %s"
                      % (conn.info.server, conn.options.gc_port, exc)) from exc
    with gc:
        entries = gc.search("", ldap_filter, list(ACCOUNT_ATTRIBUTES))
    return [account_from_entry(entry) for entry in entries]


def forest_holders(conn: ADConnection, spns: t.Sequence[Spn], trap_hosts: t.Sequence[str] = ()) -> list[Account]:
    """Accounts holding any of ``spns``, and owners of ``trap_hosts``: one Global Catalog search."""
    return search_forest(conn, forest_filter([spn.value for spn in spns], trap_hosts))


def query_patterns(conn: ADConnection, patterns: t.Sequence[str]) -> list[Account]:
    """Accounts holding an SPN matching any ``setspn -Q`` style pattern: one Global Catalog search."""
    return search_forest(conn, pattern_filter(patterns)) if patterns else []


def all_spn_holders(conn: ADConnection) -> list[Account]:
    """Every account of the forest with at least one SPN (for duplicate detection)."""
    return search_forest(conn, "(servicePrincipalName=*)")


def check_moves_in_domain(conn: ADConnection, plan: SpnPlan) -> None:
    """Refuse, before any write, to move an SPN from a holder this DC cannot write (another domain)."""
    suffix = "," + conn.info.default_naming_context.lower()
    for dn in plan.moves:
        if not dn.lower().endswith(suffix):
            raise ADError("on_conflict=move: %s holds %s but lives outside %s; this DC cannot change it. Remove "
                          "the SPN there (with server= a DC of that domain) and run again; nothing was written"
                          % (dn, ", ".join(plan.moves[dn]), conn.info.dns_domain))


def apply_spn_plan(conn: ADConnection, plan: SpnPlan) -> None:
    """Write the plan: holders first (so the DC's uniqueness check passes), then the account."""
    moved: list[tuple[str, list[str]]] = []
    for dn, values in plan.moves.items():
        if values:
            modify(conn, dn, {SPN_ATTRIBUTE: [("delete", values)]})
            moved.append((dn, values))
    ops: list[tuple[str, list[t.Any]]] = []
    if plan.to_remove:
        ops.append(("delete", list(plan.to_remove)))
    if plan.to_add:
        ops.append(("add", list(plan.to_add)))
    if not ops:
        return
    try:
        modify(conn, plan.account.dn, {SPN_ATTRIBUTE: ops})
    except ADWriteError as exc:
        message = str(exc)
        if is_duplicate_spn_refusal(exc.result):
            message = _explain_race(conn, plan, exc)
        if moved:
            message += _restore_holders(conn, moved)
        raise ADError(message) from exc


def _explain_race(conn: ADConnection, plan: SpnPlan, exc: ADWriteError) -> str:
    """The DC refused a duplicate our pre-check did not see: name the holder, as the pre-check does."""
    added = [parse_spn(v) for v in plan.to_add]
    try:
        holders = forest_holders(conn, added)
    except ADError:
        holders = []
    conflicts = find_conflicts(added, plan.account.dn, holders)
    if conflicts:
        return conflict_message(conflicts, plan.account) + " (registered there after this task checked)"
    return ("duplicate SPN: the DC refused to add %s to %s because another account holds one of them, but the "
            "Global Catalog does not show it yet (replication in progress?). DC said: %s. Find it with "
            "webfarm.winauth.spn_info and run again" % (", ".join(plan.to_add), plan.account.label, exc.dc_message))


def _restore_holders(conn: ADConnection, moved: list[tuple[str, list[str]]]) -> str:
    restored, failed = [], []
    for dn, values in moved:
        try:
            modify(conn, dn, {SPN_ATTRIBUTE: [("add", values)]})
            restored.append(dn)
        except ADError as exc:
            failed.append("%s (%s: %s)" % (dn, ", ".join(values), exc))
    text = ""
    if restored:
        text += "; the SPNs removed for the move were put back on %s" % ", ".join(restored)
    if failed:
        text += "; COULD NOT put the moved SPNs back on %s: restore them by hand" % "; ".join(failed)
    return text
