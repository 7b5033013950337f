# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""The way back, planned: which journal entries a rollback restores, in which order, with which module calls.

Pure: no I/O. The action (``webfarm.winauth.journal_restore``) runs each item's ``probe`` (a collection module in
check mode, or ``spn_info``), hands the result to :func:`decide` and, when the object is still as the run left it,
runs the item's ``calls`` through the same modules, so every write keeps their check mode, diff and validation.
An object found at its ``before`` is ``ok`` (a second rollback changes nothing); one that is neither at ``after``
nor at ``before`` was changed by someone else since the run: it is refused with what differs, and the rest goes on.
Node-plane entries are left to ``webfarm.winauth.node_restore`` (``node_rollback``), which runs on each node.
"""

from __future__ import annotations

import dataclasses
import json
import typing as t

# Undo in this order: SPNs (moves back first, then what the run added), the account settings, then the GPO's
# rights and links, and a GPO the run created last (removing it unlinks it everywhere).
ORDER = ("spn_account", "delegation", "kerberos_encryption", "gmsa_access", "user_right", "gpo_link", "gpo")
NODE_KINDS = ("iis_attribute", "iis_collection", "iis_item", "iis_runtime", "iis_secret", "pool_identity",
              "policy_refresh")
_CIPHERS = {"rc4": 0x4, "aes128": 0x8, "aes256": 0x10}
# DES-CBC-CRC and DES-CBC-MD5 ([MS-KILE] 2.2.7): kerberos_encryption never writes them
_DES_BITS = 0x1 | 0x2


class RecordError(ValueError):
    """The file given is not a record with a journal this release can read."""


@dataclasses.dataclass
class Item:
    """One journal entry on the way back: what to read, what to write, or why not."""

    entry: dict[str, t.Any]
    probe: tuple[str, dict[str, t.Any]] | None = None
    calls: list[tuple[str, dict[str, t.Any]]] = dataclasses.field(default_factory=list)
    refusal: str | None = None
    note: str | None = None

    @property
    def label(self) -> str:
        return "%s %s" % (self.entry.get("kind"), self.entry.get("object"))


def journal_of(record: t.Any) -> dict[str, t.Any]:
    """The journal of a record (a plan has none: nothing was changed, nothing to roll back)."""
    if not isinstance(record, dict) or not str(record.get("schema", "")).startswith("webfarm.winauth.change_plan/"):
        raise RecordError("rollback_record is not a change_plan record (no 'schema: webfarm.winauth.change_plan/1'):"
                          " give the <name>.record.json file the change_plan callback wrote for the real run")
    if record.get("kind") != "record" or not isinstance(record.get("journal"), dict):
        raise RecordError("rollback_record is a %s, not a record: a --check run changes nothing; give the "
                          "<name>.record.json of the real run" % record.get("kind"))
    journal = record["journal"]
    if journal.get("format") != 1:
        raise RecordError("the record's journal has format %r, this release reads format 1: roll back with the "
                          "collection version that wrote it" % journal.get("format"))
    return journal


def read_journal(path: str) -> dict[str, t.Any]:
    """The journal of the record file at ``path``; RecordError says what is wrong and which file to give."""
    try:
        with open(path, encoding="utf-8") as handle:
            return journal_of(json.load(handle))
    except (OSError, ValueError) as exc:
        raise RecordError("record=%s cannot be read as a change record: %s. Fix: give the path of a "
                          "<name>.record.json that the webfarm.winauth.change_plan callback wrote" % (path, exc)) from None


def refusals(refused: list[dict[str, t.Any]], on_refusal: str, where: str = "") -> tuple[list[str], str | None]:
    """The warnings (``on_refusal=report``) or the failure message (``fail``) for the refused items of a rollback."""
    if not refused:
        return [], None
    if on_refusal == "report":
        return ["refused %s: %s" % (r["object"], r["reason"]) for r in refused], None
    return [], "rollback refused %d item(s)%s, restored the rest: %s" % (
        len(refused), where, "; ".join("%s: %s" % (r["object"], r["reason"]) for r in refused))


def _low(values: t.Iterable[t.Any] | None) -> list[str]:
    return sorted({str(v).lower() for v in values or []})


def _account(entry: dict[str, t.Any]) -> str:
    acc = entry.get("account") or {}
    return str(acc.get("object_sid") or acc.get("dn") or acc.get("sam_account_name"))


def _gpo_ref(entry: dict[str, t.Any]) -> str:
    gpo = entry.get("gpo") or {}
    return str(gpo.get("guid") or gpo.get("name"))


def _spns(side: t.Any) -> list[str]:
    return list((side or {}).get("spns") or [])


def _spn_items(entries: list[dict[str, t.Any]]) -> list[Item]:
    """Lost SPNs go back to their holder (moved from the account that took them); gained ones are removed."""
    lost_by_others: set[str] = set()
    for e in entries:
        lost_by_others |= set(_low(_spns(e["before"]))) - set(_low(_spns(e["after"])))
    items = []
    for e in entries:
        before, after = set(_low(_spns(e["before"]))), set(_low(_spns(e["after"])))
        item = Item(e, probe=("spn_info", {"accounts": [_account(e)]}))
        lost = [v for v in _spns(e["before"]) if v.lower() in before - after]
        gained = [v for v in _spns(e["after"]) if v.lower() in (after - before) - lost_by_others]
        if lost:
            item.calls.append(("spn", {"account": _account(e), "spns": lost, "state": "present",
                                       "on_conflict": "move"}))
        if gained:
            item.calls.append(("spn", {"account": _account(e), "spns": gained, "state": "absent"}))
        items.append(item)
    # moves back first: the account that took an SPN loses it through the move, before the removals run
    return sorted(items, key=lambda i: 0 if any(c[1]["state"] == "present" for c in i.calls) else 1)


def _delegation_args(side: dict[str, t.Any]) -> dict[str, t.Any]:
    return {"allowed_to_delegate_to": list(side.get("allowed_to_delegate_to") or []),
            "protocol_transition": bool(side.get("protocol_transition")),
            "unconstrained": bool(side.get("unconstrained")),
            "allow_unconstrained": bool(side.get("unconstrained")),
            "rbcd_principals": list(side.get("rbcd_sids") or []), "state": "exact"}


def _encryption_item(e: dict[str, t.Any]) -> Item:
    number = (e["before"] or {}).get("supported_encryption_types")
    if number is None:
        # Not set before the run: cleared again, so the KDC's default applies as it did.
        args = {"account": _account(e), "state": "absent"}
        return Item(e, probe=("kerberos_encryption", args), calls=[("kerberos_encryption", args)])
    if number & _DES_BITS:
        return Item(e, refusal="msDS-SupportedEncryptionTypes was 0x%x before, with DES bits that "
                               "webfarm.winauth.kerberos_encryption does not write: set it back with your directory "
                               "tools" % number)
    names = [n for n, bit in _CIPHERS.items() if number & bit]
    args = {"account": _account(e), "encryption_types": names}
    return Item(e, probe=("kerberos_encryption", args), calls=[("kerberos_encryption", args)])


def _right_item(e: dict[str, t.Any]) -> Item:
    before = e["before"] or {}
    args: dict[str, t.Any] = {"gpo": _gpo_ref(e), "right": e.get("right")}
    if not before.get("defined"):
        args["state"] = "absent"
    else:
        args.update(mode="exact", accounts=[h.get("sid") or h.get("entry") for h in before.get("holders") or []])
    return Item(e, probe=("gpo_user_rights", args), calls=[("gpo_user_rights", args)])


def _link_item(e: dict[str, t.Any]) -> Item:
    args: dict[str, t.Any] = {"gpo": _gpo_ref(e), "target": e.get("target")}
    guid = str((e.get("gpo") or {}).get("guid") or "").lower().strip("{}")
    mine = [ln for ln in (e["before"] or {}).get("links") or [] if str(ln.get("guid", "")).lower().strip("{}") == guid]
    if e.get("created") or not mine:
        args["state"] = "absent"
    else:
        args.update(state="present", enabled=bool(mine[0].get("enabled")), enforced=bool(mine[0].get("enforced")),
                    order=int(mine[0].get("order") or 1))
    return Item(e, probe=("gpo_link", args), calls=[("gpo_link", args)])


def _gpo_item(e: dict[str, t.Any]) -> Item:
    if not e.get("created"):
        return Item(e, note="the run only completed or repaired an existing GPO: nothing to take back")
    args = {"guid": _gpo_ref(e), "state": "absent"}
    return Item(e, probe=("gpo", args), calls=[("gpo", args)])


def _delegation_item(e: dict[str, t.Any]) -> Item:
    args = dict(_delegation_args(e["before"] or {}), account=_account(e))
    return Item(e, probe=("delegation", args), calls=[("delegation", args)])


_BUILDERS: dict[str, t.Callable[[dict[str, t.Any]], Item]] = {
    "delegation": _delegation_item, "kerberos_encryption": _encryption_item, "user_right": _right_item,
    "gpo_link": _link_item, "gpo": _gpo_item}


def plan(journal: dict[str, t.Any]) -> tuple[list[Item], list[dict[str, t.Any]]]:
    """The directory items in restore order, and the entries no module of this release restores (with why).

    Node entries are not among either: ``webfarm.winauth.node_restore`` restores them on each node."""
    entries = [e for e in journal.get("entries") or [] if isinstance(e, dict)]
    created = {_gpo_ref(e) for e in entries if e.get("kind") == "gpo" and e.get("created")}
    items: list[Item] = []
    skipped: list[dict[str, t.Any]] = []
    for kind in ORDER:
        of_kind = [e for e in entries if e.get("kind") == kind]
        if kind == "spn_account":
            built = _spn_items([e for e in of_kind if e.get("restorable", True)])
            built += [Item(e) for e in of_kind if not e.get("restorable", True)]
        else:
            built = []
            for e in of_kind:
                if not e.get("restorable", True):
                    built.append(Item(e))
                elif kind in ("user_right", "gpo_link") and _gpo_ref(e) in created:
                    built.append(Item(e, note="goes with the GPO the run created, which the rollback removes"))
                else:
                    built.append(_BUILDERS[kind](e))
        for item in built:
            if not item.entry.get("restorable", True):
                item.refusal = str(item.entry.get("reason") or "the journal marks it as not restorable")
                item.calls, item.probe = [], None
        items += built
    for e in entries:
        if e.get("kind") not in ORDER and e.get("kind") not in NODE_KINDS:
            skipped.append({"object": e.get("object"), "kind": e.get("kind"), "host": e.get("host"),
                            "reason": "not restored by this release: %s" % e.get("kind")})
    return items, skipped


def current_of(item: Item, result: dict[str, t.Any]) -> t.Any:
    """The object's value now, from the probe's check-mode result, in the form :func:`side_of` gives."""
    kind = item.entry["kind"]
    if kind == "spn_account":
        accounts = result.get("accounts") or [{}]
        return _low(accounts[0].get("spns"))
    if kind == "delegation":
        return _delegation_norm(result.get("before") or {})
    if kind == "kerberos_encryption":
        return result.get("supported_encryption_types_before")
    if kind == "user_right":
        return (bool(result.get("defined_before")), _low(h.get("sid") or h.get("entry")
                                                         for h in result.get("holders_before") or []))
    if kind == "gpo_link":
        return _links_norm(result.get("links_before"))
    if kind == "gpo":
        return bool((result.get("before") or {}).get("existed"))
    raise KeyError(kind)


def _delegation_norm(side: dict[str, t.Any]) -> tuple[t.Any, ...]:
    return (_low(side.get("allowed_to_delegate_to")), bool(side.get("protocol_transition")),
            bool(side.get("unconstrained")), _low(side.get("rbcd_sids")))


def _links_norm(links: t.Any) -> list[tuple[str, bool, bool]]:
    return [(str(ln.get("guid", "")).lower().strip("{}"), bool(ln.get("enabled")), bool(ln.get("enforced")))
            for ln in links or []]


def side_of(item: Item, which: str) -> t.Any:
    """The journal's ``before`` or ``after`` of the item, comparable with :func:`current_of`."""
    e, kind = item.entry, item.entry["kind"]
    side = e.get(which) or {}
    if kind == "spn_account":
        return _low(_spns(side))
    if kind == "delegation":
        return _delegation_norm(side)
    if kind == "kerberos_encryption":
        return side.get("supported_encryption_types")
    if kind == "user_right":
        return (bool(side.get("defined")), _low(h.get("sid") or h.get("entry") for h in side.get("holders") or []))
    if kind == "gpo_link":
        return _links_norm(side.get("links"))
    if kind == "gpo":
        return bool(side.get("exists")) if which == "after" else not e.get("created")
    raise KeyError(kind)


def decide(item: Item, current: t.Any) -> tuple[str, str]:
    """``restore`` (as the run left it), ``ok`` (already as before) or ``refuse`` with who/what differs."""
    if item.refusal:
        return "refuse", item.refusal
    if item.note and not item.calls:
        return "ok", item.note
    before, after = side_of(item, "before"), side_of(item, "after")
    if current == before:
        return "ok", "already as before the run"
    if current == after:
        return "restore", "as the run left it"
    return "refuse", ("%s changed since the run: it is now %r, the run left %r and it was %r before; someone else "
                      "changed it in between: decide what it must be and set it with the module, then roll back "
                      "again to restore the rest" % (item.label, current, after, before))


def foreign_sources(items: list[Item], moved_from: t.Any) -> list[str]:
    """The accounts a move back would take SPNs from that the run did not give them to (the DNs): must be none."""
    ours = {str((i.entry.get("account") or {}).get("dn") or "").lower() for i in items
            if i.entry.get("kind") == "spn_account"}
    return [str(m.get("dn")) for m in moved_from or [] if str(m.get("dn") or "").lower() not in ours]


def encryption_predicted(item: Item, predicted: t.Any) -> tuple[str, str]:
    """The module writes only the cipher bits: restore only when its prediction is the number before, exactly."""
    before = side_of(item, "before")
    if predicted == before:
        return "restore", "as the run left it"
    return "refuse", ("msDS-SupportedEncryptionTypes would become %r, not %r as before the run (the module writes only "
                      "the RC4/AES bits and keeps the others): set it back with your directory tools"
                      % (predicted, before))
