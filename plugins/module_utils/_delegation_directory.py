# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""Delegation settings in the directory: reads, SID resolution and the one write (see ``_delegation``)."""

from __future__ import annotations

import typing as t

from ansible_collections.webfarm.winauth.plugins.module_utils._ad_connection import ADConnection, ADError
from ansible_collections.webfarm.winauth.plugins.module_utils._ad_modify import (
    RESULT_INSUFFICIENT_ACCESS,
    ADWriteError,
    is_system_only_refusal,
    modify,
)
from ansible_collections.webfarm.winauth.plugins.module_utils._ad_objects import find_object
from ansible_collections.webfarm.winauth.plugins.module_utils._delegation import (
    ALLOWED_TO_ACT,
    ATTRIBUTES,
    DelegationPlan,
    DelegationState,
)
from ansible_collections.webfarm.winauth.plugins.module_utils._security_descriptor import sid_from_bytes
from ansible_collections.webfarm.winauth.plugins.module_utils._spn import Account, account_from_entry, escape_filter_value
from ansible_collections.webfarm.winauth.plugins.module_utils._spn_directory import ACCOUNT_ATTRIBUTES


def _first(value: t.Any) -> t.Any:
    if isinstance(value, list):
        return value[0] if value else None
    return value


def sid_string(value: t.Any) -> str | None:
    value = _first(value)
    if isinstance(value, (bytes, bytearray)):
        return sid_from_bytes(bytes(value))[0]
    return str(value) if value else None


def read_account(conn: ADConnection, name: str) -> tuple[Account, DelegationState]:
    entry = find_object(conn, name, list(ACCOUNT_ATTRIBUTES) + list(ATTRIBUTES), parameter="account")
    account = account_from_entry(entry)
    if "user" not in {c.lower() for c in account.object_classes}:
        raise ADError("account=%s is a %s (%s), not an account: delegation is set on users, computers and (group) "
                      "managed service accounts" % (name, account.kind, account.dn))
    attrs = entry["attributes"]
    raw_sd = _first(attrs.get(ALLOWED_TO_ACT))
    state = DelegationState(
        dn=account.dn,
        user_account_control=int(_first(attrs.get("userAccountControl")) or 0),
        allowed_to_delegate_to=[str(v) for v in attrs.get("msDS-AllowedToDelegateTo") or []],
        allowed_to_act=bytes(raw_sd) if raw_sd else None,
    )
    return account, state


def resolve_principals(conn: ADConnection, names: t.Sequence[str]) -> list[str]:
    """The SIDs of the accounts named in rbcd_principals (one lookup each, in order)."""
    sids = []
    for name in names:
        entry = find_object(conn, name, ["objectSid"], parameter="rbcd_principals")
        sid = sid_string(entry["attributes"].get("objectSid"))
        if not sid:
            raise ADError("rbcd_principals=%s: %s has no objectSid, so it cannot be a delegating principal"
                          % (name, entry["dn"]))
        sids.append(sid)
    return sids


def names_for_sids(conn: ADConnection, sids: t.Iterable[str]) -> dict[str, dict[str, t.Any]]:
    """SID (upper-case) -> {sid, name, dn} with one search; SIDs nobody has map to name and dn None."""
    wanted = list(dict.fromkeys(s.upper() for s in sids))
    found: dict[str, dict[str, t.Any]] = {sid: {"sid": sid, "name": None, "dn": None} for sid in wanted}
    if not wanted:
        return found
    terms = "".join("(objectSid=%s)" % escape_filter_value(sid) for sid in wanted)
    for entry in conn.search(conn.info.default_naming_context, "(|%s)" % terms, ["objectSid", "sAMAccountName"]):
        sid = (sid_string(entry["attributes"].get("objectSid")) or "").upper()
        if sid in found:
            found[sid] = {"sid": sid, "name": _first(entry["attributes"].get("sAMAccountName")), "dn": entry["dn"]}
    return found


def apply_delegation_plan(conn: ADConnection, plan: DelegationPlan) -> None:
    """One modify of the account; explain the refusals a DC may give."""
    try:
        modify(conn, plan.dn, plan.changes)
    except ADWriteError as exc:
        if is_system_only_refusal(exc.result) and ALLOWED_TO_ACT in plan.changes:
            raise ADError(
                "the DC refused to write %s on %s: it treats that attribute as system-only (Samba DCs do; Windows "
                "DCs accept it over LDAP). Nothing was written. On a Samba DC set it there with samba-tool "
                "delegation add-principal / del-principal (DC said: %s)" % (ALLOWED_TO_ACT, plan.dn, exc.dc_message)
            ) from exc
        if exc.code == RESULT_INSUFFICIENT_ACCESS:
            raise ADError(
                "%s. Writing delegation settings also needs the user right 'Enable computer and user accounts to be "
                "trusted for delegation' (SeEnableDelegationPrivilege) on the DCs, held by Administrators by default"
                % exc) from exc
        raise
