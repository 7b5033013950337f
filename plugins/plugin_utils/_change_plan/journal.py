# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""The record's journal: for each object and node a real run changed, the values before and after.

It is built from the before-state keys the modules and actions return (their RETURN: ``spns_before``,
delegation's ``before``, ``links_before``, the IIS actions' ``before``/``after`` lists, ...), never
from their code. An object changed by several tasks keeps the first task's before and the last
task's after: what a rollback restores and what it expects to find. A secret is never a value
here: a password change is an entry that says "changed" and cannot be restored. ``object`` is the
key the plan's changes use (``iis:...``, ``gpo:<name>...``, ``delegation:<account>``,
``encryption:<account>``); SPNs are journalled per account (``spn-account:<SID>``, a move touches
two), each listing the plan's ``spn:<value>`` objects it covers in ``changes``. A task that failed
may have written part of its change; it is listed in ``unrecorded`` with what it says.
"""

from __future__ import annotations

import typing as t

from .results import Observation

FORMAT = 1
_SECRET_REASON = ("a secret is never recorded, so it cannot be put back: set the previous password again with "
                  "webfarm.winauth.app_pool (password=...) if it must be")
_GPO_DELETED_REASON = ("a deleted GPO cannot be restored from a journal (its SYSVOL files and ACL went with it): "
                       "restore it from a GPO backup")


def _lower(value: t.Any) -> str:
    return str(value or "").lower()


def _entry(obs: Observation, obj: str, kind: str, before: t.Any, after: t.Any, **extra: t.Any) -> dict[str, t.Any]:
    entry = {"object": obj, "kind": kind, "host": obs.host, "task": obs.task, "action": obs.action,
             "before": before, "after": after}
    entry.update(extra)
    return entry


def _spn(obs: Observation, r: dict[str, t.Any]) -> list[dict[str, t.Any]]:
    if "spns_before" not in r:
        return []
    ident = {"dn": r.get("dn"), "sam_account_name": r.get("sam_account_name"), "object_sid": r.get("object_sid"),
             "object_guid": r.get("object_guid")}
    touched = [v for m in r.get("moved_from") or [] for v in m.get("spns") or []]
    touched += list(r.get("added") or []) + list(r.get("removed") or [])
    changes = list(dict.fromkeys("spn:%s" % _lower(v) for v in touched))
    entries = [_entry(obs, "spn-account:%s" % _lower(r.get("object_sid") or r.get("dn")), "spn_account",
                      {"spns": r.get("spns_before")}, {"spns": r.get("spns")}, account=ident, changes=changes)]
    for holder in r.get("holders_before") or []:
        moved = {_lower(v) for m in r.get("moved_from") or [] if m.get("dn") == holder.get("dn") for v in m["spns"]}
        entries.append(_entry(obs, "spn-account:%s" % _lower(holder.get("object_sid") or holder.get("dn")),
                              "spn_account", {"spns": holder.get("spns_before")},
                              {"spns": [v for v in holder.get("spns_before") or [] if _lower(v) not in moved]},
                              account={k: holder.get(k) for k in ident},
                              changes=["spn:%s" % v for v in sorted(moved)]))
    return entries


def _delegation(obs: Observation, r: dict[str, t.Any]) -> list[dict[str, t.Any]]:
    if not isinstance(r.get("before"), dict):
        return []
    after = {"allowed_to_delegate_to": r.get("allowed_to_delegate_to"),
             "protocol_transition": r.get("protocol_transition"), "unconstrained": r.get("unconstrained"),
             "rbcd_sids": [p.get("sid") for p in r.get("rbcd_principals") or []],
             "user_account_control": r.get("user_account_control")}
    account = _lower(r.get("sam_account_name") or r.get("dn"))
    return [_entry(obs, "delegation:%s" % account, "delegation", r["before"], after,
                   account={"dn": r.get("dn"), "sam_account_name": r.get("sam_account_name")})]


def _encryption(obs: Observation, r: dict[str, t.Any]) -> list[dict[str, t.Any]]:
    """msDS-SupportedEncryptionTypes as a number (None: not set, the KDC's default) and by name."""
    if "supported_encryption_types_before" not in r:
        return []
    return [_entry(obs, "encryption:%s" % _lower(r.get("sam_account_name") or r.get("dn")), "kerberos_encryption",
                   {"supported_encryption_types": r["supported_encryption_types_before"],
                    "flags": r.get("previous_flags")},
                   {"supported_encryption_types": r.get("supported_encryption_types"), "flags": r.get("flags")},
                   account={"dn": r.get("dn"), "sam_account_name": r.get("sam_account_name"),
                            "object_sid": r.get("object_sid")})]


def _gpo(obs: Observation, r: dict[str, t.Any]) -> list[dict[str, t.Any]]:
    before = r.get("before")
    if not isinstance(before, dict):
        return []
    gpo = {"guid": r.get("guid"), "name": r.get("name"), "dn": r.get("dn")}
    obj = "gpo:%s" % _lower(r.get("name") or r.get("guid"))
    if "unlinked" in r:      # state=absent
        return [_entry(obs, obj, "gpo", before, {"exists": False},
                       gpo=gpo, restorable=False, reason=_GPO_DELETED_REASON)]
    after = {"exists": True, "name": r.get("name"), "repairs": r.get("repairs") or []}
    return [_entry(obs, obj, "gpo", before, after, gpo=gpo,
                   created=bool(r.get("created")))]


def _gpo_of(r: dict[str, t.Any]) -> dict[str, t.Any]:
    gpo = r.get("gpo")
    return gpo if isinstance(gpo, dict) else {}


def _gpo_key(gpo: dict[str, t.Any]) -> str:
    """As the plan's changes name a GPO: by its display name (the GUID when the name is unknown)."""
    return _lower(gpo.get("name") or gpo.get("guid"))


def _rights(obs: Observation, r: dict[str, t.Any]) -> list[dict[str, t.Any]]:
    if "defined_before" not in r:
        return []
    gpo = _gpo_of(r)
    return [_entry(obs, "gpo:%s:right:%s" % (_gpo_key(gpo), _lower(r.get("right"))), "user_right",
                   {"defined": r["defined_before"], "holders": r.get("holders_before"),
                    "machine_extensions": r.get("machine_extensions_before"), "version": r.get("version_before")},
                   {"defined": r.get("defined"), "holders": r.get("holders"), "version": r.get("version")},
                   gpo=gpo, right=r.get("right"))]


def _link(obs: Observation, r: dict[str, t.Any]) -> list[dict[str, t.Any]]:
    if "links_before" not in r:
        return []
    gpo = _gpo_of(r)
    return [_entry(obs, "gpo:%s:link:%s" % (_gpo_key(gpo), _lower(r.get("target"))), "gpo_link",
                   {"gplink": r.get("gplink_before"), "links": r.get("links_before")}, {"links": r.get("links")},
                   gpo=gpo, target=r.get("target"), created=bool(r.get("link_created")))]


def _iis(obs: Observation, r: dict[str, t.Any]) -> list[dict[str, t.Any]]:
    befores, afters = r.get("before"), r.get("after")
    if not isinstance(befores, list) or not isinstance(afters, list):
        return []
    ident_keys = ("object", "kind", "section", "location", "path", "name")
    entries = []
    for before, after in zip(befores, afters):
        ident = {k: before.get(k) for k in ident_keys}
        sides = [{k: v for k, v in side.items() if k not in ident_keys} for side in (before, after)]
        extra: dict[str, t.Any] = {"iis": {k: ident[k] for k in ("section", "location", "path", "name")}}
        if ident["kind"] == "secret":
            extra.update(restorable=False, reason=_SECRET_REASON)
        entries.append(_entry(obs, str(ident["object"]), "iis_%s" % ident["kind"], sides[0], sides[1], **extra))
    return entries


def _app_pool(obs: Observation, r: dict[str, t.Any]) -> list[dict[str, t.Any]]:
    return _iis(obs, r) + _pool_identity(obs, r)


def _pool_identity(obs: Observation, r: dict[str, t.Any]) -> list[dict[str, t.Any]]:
    entries = []
    if "identity_before" in r and (r.get("identity_before"), r.get("username_before")) != (
            r.get("identity"), r.get("username")):
        entries.append(_entry(obs, "pool:%s:identity" % _lower(r.get("name")), "pool_identity",
                              {"identity": r.get("identity_before"), "username": r.get("username_before"),
                               "existed": r.get("existed")},
                              {"identity": r.get("identity"), "username": r.get("username")}))
    return entries


def _gmsa(obs: Observation, r: dict[str, t.Any]) -> list[dict[str, t.Any]]:
    account = r.get("sam_account_name") or r.get("dn")
    before = list(r.get("allowed_principals_before") or [])
    return [_entry(obs, "gmsa:%s" % _lower(account), "gmsa_access", {"allowed_principals": before},
                   {"allowed_principals": list(r.get("allowed_principals") or [])}, restorable=False,
                   reason="put the allowed principals back with webfarm.winauth.gmsa_access, account=%s, mode=exact "
                          "and the SIDs of: %s" % (account, ", ".join(before) or "nobody"))]


def _policy(obs: Observation, r: dict[str, t.Any]) -> list[dict[str, t.Any]]:
    del r      # nothing to put back: a rollback refreshes policy again once the GPO is as it was
    return [_entry(obs, "policy:gpupdate", "policy_refresh", None, None, rollback="refresh policy again")]


def _web_node(obs: Observation, r: dict[str, t.Any]) -> list[dict[str, t.Any]]:
    """Its IIS edits, the pool's identity as app_pool reports it, and the refresh when one ran (or would)."""
    pool = r.get("app_pool") if isinstance(r.get("app_pool"), dict) else {}
    return _iis(obs, r) + _pool_identity(obs, pool) + (_policy(obs, r) if r.get("refresh") else [])


_BUILDERS: dict[str, t.Callable[[Observation, dict[str, t.Any]], list[dict[str, t.Any]]]] = {
    "spn": _spn, "delegation": _delegation, "kerberos_encryption": _encryption, "gmsa_access": _gmsa, "gpo": _gpo,
    "gpo_user_rights": _rights, "gpo_link": _link,
    "web_auth": _iis, "arr_farm": _iis, "app_pool": _app_pool, "policy_refresh": _policy,
    "web_node": _web_node,
}


def _merge(entries: dict[tuple[str, str], dict[str, t.Any]], entry: dict[str, t.Any], directory: bool) -> None:
    """First before, last after, for one object (per node; once for the directory, whichever host ran it)."""
    key = ("" if directory else entry["host"], entry["object"])
    if key not in entries:
        entries[key] = dict(entry, tasks=[entry["task"]])
        return
    kept = entries[key]
    kept["after"] = entry["after"]
    kept["tasks"].append(entry["task"])
    for name in ("restorable", "reason"):
        if name in entry:
            kept[name] = entry[name]


def build(observations: t.Iterable[Observation]) -> dict[str, t.Any]:
    """The journal of a real run: ``entries`` in the order the run first changed each object."""
    entries: dict[tuple[str, str], dict[str, t.Any]] = {}
    unrecorded: list[dict[str, t.Any]] = []
    for obs in observations:
        builder = _BUILDERS.get(obs.module)
        if builder is None or obs.status not in ("changed", "failed") or obs.result.get("censored"):
            continue
        if obs.status == "failed":
            unrecorded.append({"host": obs.host, "task": obs.task, "action": obs.action,
                               "msg": str(obs.result.get("msg", ""))})
            continue
        directory = obs.plane == "directory"
        for entry in builder(obs, obs.result):
            _merge(entries, entry, directory)
    out = []
    for (_scope, _obj), entry in entries.items():
        entry.pop("task", None)
        entry.setdefault("restorable", True)
        if entry["kind"] in ("spn_account", "delegation", "kerberos_encryption", "gmsa_access", "gpo", "user_right",
                             "gpo_link"):
            entry["plane"] = "directory"
        else:
            entry["plane"] = "node"
        out.append(entry)
    return {"format": FORMAT, "entries": out, "unrecorded": unrecorded}
