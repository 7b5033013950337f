# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""Active Directory changes (SPNs, delegation, GPO, its rights and links) in words, with their risks."""

from __future__ import annotations

import re
import typing as t

from . import risks as R
from .items import Change, View, on_off, transition

RIGHT_WORDS = {
    "SeBatchLogonRight": "Log on as a batch job",
    "SeServiceLogonRight": "Log on as a service",
    "SeInteractiveLogonRight": "Allow log on locally",
    "SeDenyBatchLogonRight": "Deny log on as a batch job",
    "SeImpersonatePrivilege": "Impersonate a client after authentication",
}


def right_words(right: str) -> str:
    words = RIGHT_WORDS.get(right)
    return "%s (%s)" % (words, right) if words else right


def _names(values: t.Iterable[t.Any]) -> str:
    return ", ".join(str(v) for v in values) or "(none)"


def spn_view(result: dict[str, t.Any]) -> View:
    account = str(result.get("sam_account_name") or result.get("dn") or "the account")
    moved = {str(spn).lower(): str(holder.get("sam_account_name") or holder.get("dn"))
             for holder in result.get("moved_from") or [] for spn in holder.get("spns") or []}
    view = View(edits=[])
    for spn in result.get("added") or []:
        holder = moved.get(str(spn).lower())
        if holder:
            facts = {"spn": spn, "holder": holder, "account": account}
            view.changes.append(Change("spn", "spn:%s" % str(spn).lower(), "SPN %s: move from %s to %s"
                                       % (spn, holder, account), holder, account, risks=[R.SPN_MOVE.of(**facts)]))
            view.edits.append("move %s from %s" % (str(spn).lower(), holder.lower()))
        else:
            view.changes.append(Change("spn", "spn:%s" % str(spn).lower(), "SPN %s: register on %s" % (spn, account),
                                       "nobody", account))
            view.edits.append("add %s" % str(spn).lower())
    for spn in result.get("removed") or []:
        view.changes.append(Change("spn", "spn:%s" % str(spn).lower(), "SPN %s: remove from %s" % (spn, account),
                                   account, "nobody", risks=[R.SPN_REMOVE.of(spn=spn, account=account)]))
        view.edits.append("remove %s" % str(spn).lower())
    if not result.get("changed") and result.get("spns") is not None:
        view.right.append("SPNs of %s: %s (nothing to register)" % (account, _names(result.get("spns") or [])))
    view.edits.sort()
    return view


def parse_delegation(text: str) -> dict[str, t.Any]:
    """The settings of delegation's diff view (render_view): lists and true/false values."""
    found: dict[str, t.Any] = {}
    current: str | None = None
    for line in text.splitlines():
        match = re.match(r"^  (\w+):\s*(.*)$", line)
        if match:
            current = match.group(1)
            value = match.group(2).strip()
            found[current] = [] if value in ("", "[]") else value
        elif line.startswith("    - ") and current is not None and isinstance(found.get(current), list):
            found[current].append(line[6:].strip())
    return found


def delegation_view(result: dict[str, t.Any]) -> View:
    account = str(result.get("sam_account_name") or result.get("dn") or "the account")
    after = {"allowed_to_delegate_to": list(result.get("allowed_to_delegate_to") or []),
             "protocol_transition": str(bool(result.get("protocol_transition"))).lower(),
             "unconstrained": str(bool(result.get("unconstrained"))).lower(),
             "rbcd_principals": [str(p.get("name") or p.get("sid")) for p in result.get("rbcd_principals") or []]}
    diff = result.get("diff") if isinstance(result.get("diff"), dict) else {}
    before = parse_delegation(str(diff.get("before", ""))) if diff else {}
    view = View(edits=sorted(after["allowed_to_delegate_to"], key=str.lower) + [
        "protocol_transition=%s" % after["protocol_transition"], "unconstrained=%s" % after["unconstrained"]])
    facts = {"account": account, "targets": _names(after["allowed_to_delegate_to"])}
    labels = (("allowed_to_delegate_to", "Constrained delegation of %s (msDS-AllowedToDelegateTo)", True),
              ("protocol_transition", "Protocol transition of %s (TRUSTED_TO_AUTH_FOR_DELEGATION)", False),
              ("unconstrained", "Unconstrained delegation of %s (TRUSTED_FOR_DELEGATION)", False),
              ("rbcd_principals", "Accounts allowed to delegate to %s (resource-based)", True))
    for key, label, is_list in labels:
        now = after[key]
        was = before.get(key) if before else None
        shown_now = _names(now) if is_list else on_off(now)
        shown_was = None if was is None else (_names(was) if is_list else on_off(str(was)))
        same = (was is not None and (sorted(map(str.lower, was)) == sorted(map(str.lower, now)) if is_list
                                     else str(was) == now))
        if same or (was is None and not result.get("changed")):
            view.right.append("%s: %s" % (label % account, shown_now))
            continue
        if was is None and not now or now == "false" and was is None:
            continue
        risks: list[R.Risk] = []
        if key == "allowed_to_delegate_to" and now:
            risks.append(R.DELEGATION.of(**facts))
        if key == "protocol_transition" and now == "true":
            risks.append(R.PROTOCOL_TRANSITION.of(**facts))
        if key == "unconstrained" and now == "true":
            risks.append(R.UNCONSTRAINED.of(**facts))
        view.changes.append(Change("delegation", "delegation:%s:%s" % (account.lower(), key),
                                   transition(label % account, shown_was, shown_now), shown_was, shown_now,
                                   risks=risks))
    return view


def gpo_view(result: dict[str, t.Any]) -> View:
    name = str(result.get("name") or result.get("guid") or "the GPO")
    guid = result.get("guid")
    view = View(edits=[])
    if result.get("created"):
        view.changes.append(Change("gpo", "gpo:%s" % name.lower(), "GPO %s: create%s" % (
            name, " (%s)" % guid if guid else " (the directory assigns its GUID)"), "absent", str(guid or "new")))
        view.edits.append("create")
    for repair in result.get("repaired") or []:
        view.changes.append(Change("gpo", "gpo:%s:repair" % name.lower(), "GPO %s: repair - %s" % (name, repair)))
        view.edits.append("repair %s" % repair)
    for dn in result.get("unlinked") or []:
        view.changes.append(Change("gpo_link", "gpo:%s:link:%s" % (name.lower(), str(dn).lower()),
                                   "GPO %s: unlink from %s" % (name, dn), "linked", "not linked"))
        view.edits.append("unlink %s" % str(dn).lower())
    if result.get("changed") and not view.changes:
        view.changes.append(Change("gpo", "gpo:%s" % name.lower(), "GPO %s: %s" % (
            name, "delete" if result.get("version") is None else "change")))
        view.edits.append("change")
    if not result.get("changed"):
        view.right.append("GPO %s exists (%s)" % (name, guid))
    return view


def _holders_line(text: str, right: str) -> list[str] | None:
    for line in text.splitlines():
        key, sep, value = line.strip().partition(" = ")
        if sep and key.lower() == right.lower():
            return [] if value.startswith("(defined, no holder") else [v.strip() for v in value.split(", ")]
    return None


def _holder_name(entry: str) -> str:
    """A holder as the diff spells it ('*S-1-5-... (CAMTEST\\cam-svc)', 'cam-svc (S-1-5-...)'): the name only."""
    match = re.match(r"^(?P<entry>.+) \((?P<extra>[^()]+)\)$", entry)
    if not match:
        return entry
    if match["entry"].startswith("*S-1-"):
        return match["extra"]
    return match["entry"] if match["extra"].startswith("S-1-") else entry


def user_rights_view(result: dict[str, t.Any]) -> View:
    gpo = result.get("gpo") or {}
    name = str(gpo.get("name") or gpo.get("guid") or "the GPO")
    right = str(result.get("right") or "")
    holders = [str(h.get("name") or h.get("entry")) for h in result.get("holders") or []]
    label = "GPO %s: %s" % (name, right_words(right))
    view = View(edits=sorted(h.lower() for h in holders))
    if not result.get("changed"):
        view.right.append("%s: %s" % (label, _names(holders)))
        return view
    diff = result.get("diff") if isinstance(result.get("diff"), dict) else {}
    before = _holders_line(str(diff.get("before", "")), right) if diff else None
    was = None if before is None and not diff else ("not defined" if before is None else
                                                    _names(_holder_name(h) for h in before))
    text = transition(label, was, _names(holders) if result.get("defined", True) else "not defined")
    if before is not None:
        old = {_holder_name(h).lower() for h in before}
        added = [h for h in holders if h.lower() not in old]
        removed = [_holder_name(h) for h in before if _holder_name(h).lower() not in {x.lower() for x in holders}]
        extra = "; ".join(p for p in ("adds " + ", ".join(added) if added else "",
                                      "removes " + ", ".join(removed) if removed else "") if p)
        text += " (%s)" % extra if extra else ""
    view.changes.append(Change("user_right", "gpo:%s:right:%s" % (name.lower(), right.lower()), text, was,
                               _names(holders), risks=[R.RIGHT_REPLACES.of(right=right_words(right))]))
    return view


def _link_line(text: str, guid: str) -> str | None:
    for line in text.splitlines():
        if guid and guid.lower() in line.lower():
            return line.strip()
    return None


def gpo_link_view(result: dict[str, t.Any]) -> View:
    gpo = result.get("gpo") or {}
    name = str(gpo.get("name") or gpo.get("guid") or "the GPO")
    guid = str(gpo.get("guid") or "")
    target = str(result.get("target") or "")
    order = result.get("link_order")
    view = View(edits=["link %s order %s" % (target.lower(), order)])
    inside = [str(s.get("computer")) for s in result.get("scope") or [] if s.get("in_scope")]
    outside = [s for s in result.get("scope") or [] if not s.get("in_scope")]
    for scope in outside:
        blocked = scope.get("blocked_at") or []
        view.risks.append(R.OUT_OF_SCOPE.of(computer=scope.get("computer"), blocked=(
            " (inheritance blocked at %s)" % ", ".join(blocked)) if blocked else ""))
    reach = " - reaches %s" % ", ".join(inside) if inside else ""
    if not result.get("changed"):
        view.right.append("GPO %s linked to %s (link order %s)%s" % (name, target, order, reach))
        return view
    diff = result.get("diff") if isinstance(result.get("diff"), dict) else {}
    was = _link_line(str(diff.get("before", "")), guid) if diff else None
    now = _link_line(str(diff.get("after", "")), guid) if diff else None
    if diff and was is None:
        text = "GPO %s: link to %s (link order %s)%s" % (name, target, order, reach)
    elif was is not None:
        text = transition("GPO %s link on %s" % (name, target), was, now or "(no link)")
    else:
        text = "GPO %s: link on %s set (link order %s)%s" % (name, target, order, reach)
    view.changes.append(Change("gpo_link", "gpo:%s:link:%s" % (name.lower(), target.lower()), text,
                               was or "not linked", now or "link order %s" % order,
                               risks=[R.GPO_LINK.of(target=target)] if was is None else []))
    return view


def spn_info_view(result: dict[str, t.Any]) -> View:
    view = View()
    for query in result.get("queries") or []:
        holders = sorted({str(f.get("sam_account_name") or f.get("dn")) for f in query.get("found") or []})
        view.right.append("%s: held by %s" % (query.get("pattern"), " and ".join(holders) if holders else "nobody"))
    for duplicate in result.get("duplicates") or []:
        holders = [str(h.get("sam_account_name") or h.get("dn")) if isinstance(h, dict) else str(h)
                   for h in duplicate.get("holders") or []]
        view.warnings.append("duplicate SPN %s: held by %s - Kerberos fails for this name"
                             % (duplicate.get("spn"), " and ".join(holders)))
    return view


def encryption_view(result: dict[str, t.Any]) -> View:
    """kerberos_encryption: the account's ciphers by name, before and after."""
    account = str(result.get("sam_account_name") or result.get("dn") or "the account")
    label = "Kerberos encryption types of %s (msDS-SupportedEncryptionTypes)" % account
    unset = "not set (the domain's default)"
    now = ", ".join(str(f) for f in result.get("flags") or []) or unset
    if not result.get("changed"):
        return View(right=["%s: %s" % (label, now)], edits=[])
    was = ", ".join(str(f) for f in result.get("previous_flags") or []) or unset
    return View(changes=[Change("encryption", "encryption:%s" % account.lower(), transition(label, was, now), was, now)],
                edits=["clear it" if now == unset else "set %s" % now.lower()])


def gmsa_view(result: dict[str, t.Any]) -> View:
    """gmsa_access: who may retrieve the gMSA's password, before and after; the nodes that still may not."""
    account = str(result.get("sam_account_name") or result.get("dn") or "the gMSA")
    label = "Who may retrieve the password of %s (msDS-GroupMSAMembership)" % account
    now = ", ".join(str(p) for p in result.get("allowed_principals") or []) or "nobody"
    warnings = ["%s may not retrieve the password of %s: a pool running as it cannot start there (503)"
                % (", ".join(str(d) for d in result.get("denied") or []), account)] if result.get("denied") else []
    if not result.get("changed"):
        return View(right=["%s: %s" % (label, now)], warnings=warnings, edits=[])
    was = ", ".join(str(p) for p in result.get("allowed_principals_before") or []) or "nobody"
    return View(changes=[Change("gmsa_access", "gmsa:%s" % account.lower(), transition(label, was, now), was, now)],
                warnings=warnings, edits=["allow %s" % now])


def domain_info_view(result: dict[str, t.Any]) -> View:
    domain, dc, bind = result.get("domain") or {}, result.get("dc") or {}, result.get("bind") or {}
    return View(right=["Domain %s (%s) read from domain controller %s, bound as %s (%s over %s)" % (
        domain.get("dns_name"), domain.get("netbios_name"), dc.get("hostname"), bind.get("identity"),
        bind.get("auth"), bind.get("tls"))])


VIEWS: dict[str, t.Callable[[dict[str, t.Any]], View]] = {
    "spn": spn_view,
    "delegation": delegation_view,
    "kerberos_encryption": encryption_view,
    "gmsa_access": gmsa_view,
    "gpo": gpo_view,
    "gpo_user_rights": user_rights_view,
    "gpo_link": gpo_link_view,
    "spn_info": spn_info_view,
    "domain_info": domain_info_view,
}
