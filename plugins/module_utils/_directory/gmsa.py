# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""Password retrieval of a gMSA in the directory: the reads (the gMSA, each principal and its token groups),
the one write, and the engine of webfarm.winauth.gmsa_access (the decisions are in ``gmsa_rules``)."""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

from ansible_collections.webfarm.winauth.plugins.module_utils._directory.delegation import principals_by_sid
from ansible_collections.webfarm.winauth.plugins.module_utils._directory.gmsa_rules import (
    GMSA_CLASS,
    MEMBERSHIP,
    MODES,
    parse_membership,
    plan_membership,
    render_membership,
    retrieval_decision,
)
from ansible_collections.webfarm.winauth.plugins.module_utils._directory.objects import find_object, parse_identity
from ansible_collections.webfarm.winauth.plugins.module_utils._directory.operations import Directory
from ansible_collections.webfarm.winauth.plugins.module_utils._directory.outcome import Outcome
from ansible_collections.webfarm.winauth.plugins.module_utils._windows.errors import (
    Conflict,
    InvalidInput,
    WinauthError,
)

WRITE_ATTEMPTS = 3


class RetrievalDenied(WinauthError):
    """Some of the named principals may not retrieve the gMSA's password (mode=verify)."""


@dataclass
class GmsaAccessTask:
    """The gmsa_access module's options, checked before any network traffic."""

    account: str
    principals: list[str]
    mode: str = "verify"

    def validate(self) -> None:
        if self.mode not in MODES:
            raise InvalidInput("mode=%s is not one of %s" % (self.mode, ", ".join(MODES)))
        for parameter, names in (("account", [self.account]), ("principals", self.principals)):
            for name in names:
                try:
                    parse_identity(name)
                except InvalidInput as exc:
                    raise InvalidInput("%s: %s" % (parameter, exc)) from None
        if not self.principals and self.mode != "exact":
            raise InvalidInput("principals=[] with mode=%s: name the computer accounts (or groups) of the nodes "
                               "that run the pools, such as [SERVER1$, SERVER2$]" % self.mode)


def _principal(conn: Directory, name: str) -> dict[str, t.Any]:
    """name, dn, sid and the token SIDs (its own and its groups', transitively) of one principal."""
    entry = find_object(conn, name, ["objectSid"], parameter="principals")
    sid = entry.sid()
    if not sid:
        raise InvalidInput("principals=%s: %s has no objectSid, so no token can carry it" % (name, entry.dn))
    groups = conn.read(entry.dn, ["tokenGroups"])
    token = [sid] + (groups.sids("tokenGroups") if groups else [])
    return {"name": entry.text("sAMAccountName") or name, "dn": entry.dn, "sid": sid.upper(), "token": token}


def _read(conn: Directory, task: GmsaAccessTask) -> tuple[t.Any, t.Any]:
    entry = find_object(conn, task.account, [MEMBERSHIP], parameter="account")
    if GMSA_CLASS.lower() not in {c.lower() for c in entry.object_classes}:
        raise InvalidInput("account=%s is a %s (%s), not a group managed service account: only a gMSA's password is "
                           "retrieved by the computers that use it"
                           % (task.account, entry.most_specific_class, entry.dn))
    return entry, parse_membership(entry.first(MEMBERSHIP), entry.dn)


def _decide(sd: t.Any, principals: list[dict[str, t.Any]], gmsa_sid: str) -> list[dict[str, t.Any]]:
    rows = []
    for info in principals:
        allowed, why = retrieval_decision(sd, info["token"], gmsa_sid)
        rows.append({"name": info["name"], "dn": info["dn"], "sid": info["sid"], "allowed": allowed, "reason": why})
    return rows


def _allowed(sd: t.Any) -> list[str]:
    """The SIDs of the descriptor's access-allowed entries (upper-case), in order."""
    return [sid.upper() for sid in sd.allowed_sids()] if sd is not None else []


def ensure_gmsa_access(conn: Directory, task: GmsaAccessTask, check_mode: bool) -> Outcome:
    """Read the gMSA and the principals, decide, plan one compare-and-swap write unless check_mode or verify."""
    principals = [_principal(conn, name) for name in task.principals]
    for attempt in range(1, WRITE_ATTEMPTS + 1):
        entry, current = _read(conn, task)
        gmsa_sid = entry.sid() or ""
        before_rows = _decide(current, principals, gmsa_sid)
        denied = [row["sid"] for row in before_rows if not row["allowed"]]
        plan = plan_membership(current, task.mode, [p["sid"] for p in principals], denied)
        if not plan.changed or check_mode:
            break
        old, new = entry.first(MEMBERSHIP), plan.after.encode() if plan.after is not None else None
        changes = [("delete", [old])] if old else []
        changes += [("add", [new])] if new else []
        try:
            conn.modify(entry.dn, {MEMBERSHIP: changes})
        except Conflict:
            if attempt == WRITE_ATTEMPTS:
                raise Conflict("%s of %s was changed by someone else %d times while this task worked on it; nothing "
                               "of it was overwritten: run the task again" % (MEMBERSHIP, entry.dn, attempt)) from None
            continue
        break
    after_rows = _decide(plan.after, principals, gmsa_sid)
    sids = [ace.sid for sd in (plan.before, plan.after) if sd is not None for ace in (sd.dacl or [])
            if getattr(ace, "sid", "")]
    found = principals_by_sid(conn, sids)
    names = {sid: "%s (%s)" % (info["name"], sid) if info["name"] else sid for sid, info in found.items()}
    denied_after = [row for row in after_rows if not row["allowed"]]
    label = "%s (%s)" % (entry.dn, entry.text("sAMAccountName"))
    outcome = Outcome(
        changed=plan.changed,
        diff={"before": render_membership(entry.dn, plan.before, names),
              "after": render_membership(entry.dn, plan.after, names)},
        result={"dn": entry.dn, "sam_account_name": entry.text("sAMAccountName"), "object_sid": gmsa_sid,
                "principals": after_rows, "denied": [row["name"] for row in denied_after],
                "allowed_principals": [names.get(sid, sid) for sid in _allowed(plan.after)],
                "allowed_principals_before": [names.get(sid, sid) for sid in _allowed(plan.before)]})
    if denied_after and task.mode == "verify":
        raise RetrievalDenied(
            "%s may not retrieve the password of %s (%s), so a pool running as it fails to start there (the "
            "Test-ADServiceAccount check). Fix: allow them in Set-ADServiceAccount -PrincipalsAllowedToRetrieve"
            "ManagedPassword, add them to a group that is allowed (then restart the nodes, or klist purge -li 0x3e7, "
            "so their tokens carry it), or run webfarm.winauth.gmsa_access with mode=add"
            % (", ".join("%s (%s)" % (row["name"], row["reason"]) for row in denied_after), task.account, label),
            task_result=outcome.result)
    return outcome
