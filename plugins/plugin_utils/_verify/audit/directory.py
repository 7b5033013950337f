# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""The directory half of the farm audit: read-only LDAP (and SYSVOL) reads that build its directory view.

It reads through the directory's operations object and the GPO modules' readers, like any module.

``read_directory(conn, farm, nodes)`` returns the dictionary ``rules.audit`` takes:

* ``computers``: each node's computer account (DN, dNSHostName, SPNs);
* ``accounts``: each domain pool identity (DN, kind, SID, the SIDs of its groups from the
  constructed ``tokenGroups``, SPNs);
* ``spn_holders``: for every SPN the audit looks at (HTTP and HOST for the farm's names, HTTP for
  each node's own names), the accounts that hold it, from one Global Catalog search (the whole
  forest, as the KDC sees it);
* ``gpos``: the GPOs linked on the containers above the nodes' computer accounts and above the
  pool identities (where seed 001 links its GPO), plus ``farm.batch_logon_gpo``: for each, whether
  its ``GptTmpl.inf`` (SYSVOL) grants ``SeBatchLogonRight`` to a pool identity, where it is linked
  and which of the farm's computers those links reach (block inheritance and enforcement included).

Nothing is written.
"""

from __future__ import annotations

import typing as t

from ansible_collections.webfarm.winauth.plugins.module_utils._directory.encryption_rules import (
    SUPPORTED_ENCRYPTION_TYPES,
)
from ansible_collections.webfarm.winauth.plugins.module_utils._directory.entry import Entry
from ansible_collections.webfarm.winauth.plugins.module_utils._directory.gmsa_rules import (
    MEMBERSHIP,
    parse_membership,
    retrieval_decision,
)
from ansible_collections.webfarm.winauth.plugins.module_utils._directory.objects import find_object, netbios_name
from ansible_collections.webfarm.winauth.plugins.module_utils._directory.operations import Directory
from ansible_collections.webfarm.winauth.plugins.module_utils._directory.spn import search_forest
from ansible_collections.webfarm.winauth.plugins.module_utils._directory.spn_names import forest_filter
from ansible_collections.webfarm.winauth.plugins.module_utils._gpo.container import (
    blocks_inheritance,
    containers_linking,
    find_gpos,
)
from ansible_collections.webfarm.winauth.plugins.module_utils._gpo.context import GpoContext
from ansible_collections.webfarm.winauth.plugins.module_utils._gpo.gplink import (
    common_parent,
    entries,
    evaluate_scope,
    parse_gplink,
    soms_between,
)
from ansible_collections.webfarm.winauth.plugins.module_utils._gpo.inf import INF_RELATIVE_PATH, InfDocument
from ansible_collections.webfarm.winauth.plugins.module_utils._gpo.sysvol import join
from ansible_collections.webfarm.winauth.plugins.module_utils._windows.dn import normalize_dn, parent_dn
from ansible_collections.webfarm.winauth.plugins.module_utils._windows.errors import WinauthError
from ansible_collections.webfarm.winauth.plugins.module_utils._windows.sid import is_sid, normalize_sid
from ansible_collections.webfarm.winauth.plugins.plugin_utils._verify.audit.farm import (
    account_key,
    farm_applications,
    interesting_spns,
    pool_is_domain,
)

ACCOUNT_ATTRIBUTES = ("sAMAccountName", "objectClass", "dNSHostName", "servicePrincipalName",
                      SUPPORTED_ENCRYPTION_TYPES, "pwdLastSet", MEMBERSHIP)


def _kind(classes: t.Sequence[str]) -> str:
    lowered = {c.lower() for c in classes}
    if "msds-groupmanagedserviceaccount" in lowered:
        return "gMSA"
    if "computer" in lowered:
        return "computer"
    return "user"


def _summary(entry: Entry) -> dict[str, t.Any]:
    kind = _kind(entry.object_classes)
    return {"dn": entry.dn, "sam": entry.text("sAMAccountName"), "kind": kind, "is_computer": kind == "computer",
            "dns_host_name": entry.text("dNSHostName") or None, "spns": entry.texts("servicePrincipalName"),
            "supported_encryption_types": entry.integer(SUPPORTED_ENCRYPTION_TYPES),
            "pwd_last_set": entry.integer("pwdLastSet")}


def _retrieval(conn: Directory, entry: Entry, gmsa_sid: str | None, computers: dict[str, dict[str, t.Any]],
               tokens: dict[str, list[str]]) -> dict[str, dict[str, t.Any]]:
    """For each node's computer account: may its token retrieve the gMSA's password (msDS-GroupMSAMembership)?

    ``tokens`` keeps each computer's token SIDs once read, for the next gMSA of the farm."""
    try:
        membership = parse_membership(entry.first(MEMBERSHIP), entry.dn)
    except WinauthError as exc:
        return {name: {"allowed": False, "reason": str(exc)} for name in computers}
    if membership is None:
        why = "%s is not set on it, or this audit's bind identity may not read it" % MEMBERSHIP
        return {name: {"allowed": False, "reason": why, "unset": True} for name in computers}
    decisions = {}
    for name, computer in computers.items():
        if name not in tokens:
            sid, groups = _token_sids(conn, computer["dn"])
            tokens[name] = [s for s in [sid] + groups if s]
        allowed, why = retrieval_decision(membership, tokens[name], gmsa_sid or "")
        decisions[name] = {"allowed": allowed, "reason": why}
    return decisions


def _aes_keys_since(conn: Directory) -> str | None:
    """When the domain began to make AES keys: the creation of Read-only Domain Controllers (RID 521), which the
    first Windows Server 2008 domain controller brings (Microsoft's test for passwords that predate AES keys)."""
    try:
        entry = conn.read("<SID=%s-521>" % conn.domain_sid(), ["whenCreated"])
    except WinauthError:
        return None
    return entry.text("whenCreated") if entry else None


def _identities(farm: dict[str, t.Any], nodes: t.Sequence[dict[str, t.Any]]) -> list[str]:
    names = []
    if farm.get("identity"):
        names.append(str(farm["identity"]))
    for node in nodes:
        for app in farm_applications(farm, node) + list(node.get("applications", [])):
            pool = node["pools"].get(app["pool"])
            if pool is not None and pool_is_domain(pool) and pool["username"] not in names:
                names.append(str(pool["username"]))
    return names


def _token_sids(conn: Directory, dn: str) -> tuple[str | None, list[str]]:
    """The account's SID and the SIDs of its groups (tokenGroups is constructed: it is read on its own)."""
    account = conn.read(dn, ["objectSid"])
    groups = conn.read(dn, ["tokenGroups"])
    return (account.sid() if account else None), (groups.sids("tokenGroups") if groups else [])


def read_directory(conn: Directory, farm: dict[str, t.Any], nodes: t.Sequence[dict[str, t.Any]],
                   gpo_context: GpoContext | None = None) -> dict[str, t.Any]:
    """The directory view of the farm (see the module docstring); ``warnings`` lists reads that failed."""
    view: dict[str, t.Any] = {"netbios": netbios_name(conn), "dns_domain": conn.info.dns_domain, "computers": {},
                              "accounts": {}, "spn_holders": {}, "gpos": [], "warnings": [],
                              "aes_keys_since": _aes_keys_since(conn)}
    for node in nodes:
        name = node["computer"].upper()
        try:
            entry = find_object(conn, "%s$" % name, ACCOUNT_ATTRIBUTES, parameter="computer")
        except WinauthError as exc:
            view["warnings"].append("computer account of %s: %s" % (node["host"], exc))
            continue
        view["computers"][name] = _summary(entry)
    computer_tokens: dict[str, list[str]] = {}
    for identity in _identities(farm, nodes):
        key = account_key(identity)
        if key in view["accounts"]:
            continue
        try:
            entry = find_object(conn, identity, ACCOUNT_ATTRIBUTES, parameter="pool identity")
        except WinauthError as exc:
            view["warnings"].append("pool identity %s: %s" % (identity, exc))
            continue
        account = _summary(entry)
        account["sid"], account["group_sids"] = _token_sids(conn, entry.dn)
        if account["kind"] == "gMSA":
            account["retrieval"] = _retrieval(conn, entry, account["sid"], view["computers"], computer_tokens)
        view["accounts"][key] = account
    spns = interesting_spns(farm, nodes, view)
    wanted = {s.lower(): s for s in spns}
    for holder in search_forest(conn, forest_filter(spns)):
        summary = {"dn": holder.dn, "sam": holder.sam_account_name, "kind": "computer" if holder.is_computer else
                   _kind(holder.object_classes), "is_computer": holder.is_computer}
        for value in holder.spns:
            if value.lower() in wanted:
                view["spn_holders"].setdefault(value.lower(), []).append(summary)
    computers = {name: c["dn"] for name, c in view["computers"].items()}
    view["computer_ou"] = common_parent(list(computers.values()))
    view["gpos"] = _gpos(conn, farm, view, computers, gpo_context)
    return view


def _containers_above(dns: t.Iterable[str], domain_dn: str) -> list[str]:
    found: list[str] = []
    for dn in dns:
        current = parent_dn(dn)
        while current:
            if normalize_dn(current) not in [normalize_dn(c) for c in found] and \
                    current.split(",", 1)[0].lower().startswith(("ou=", "dc=")):
                found.append(current)
            if normalize_dn(current) == normalize_dn(domain_dn):
                break
            current = parent_dn(current)
    return found


def _gpos(conn: Directory, farm: dict[str, t.Any], view: dict[str, t.Any], computers: dict[str, str],
          gpo_context: GpoContext | None) -> list[dict[str, t.Any]]:
    domain_dn = conn.info.default_naming_context
    identity_dns = [a["dn"] for a in view["accounts"].values()]
    guids: list[str] = []
    for container in _containers_above(list(computers.values()) + identity_dns, domain_dn):
        entry = conn.read(container, ["gPLink"])
        for link in entries(parse_gplink(entry.text("gPLink") if entry else None)):
            if link.guid and link.guid not in guids:
                guids.append(link.guid)
    named = None
    if farm.get("batch_logon_gpo"):
        named = find_gpos(conn, str(farm["batch_logon_gpo"]))
        if not named:
            view["warnings"].append("farm.batch_logon_gpo %s: no such GPO" % farm["batch_logon_gpo"])
        for gpo in named:
            if gpo.guid not in guids:
                guids.append(gpo.guid)
    identity_sids: dict[str, str] = {}
    for account in view["accounts"].values():
        if account.get("sid"):
            identity_sids[account["sid"].upper()] = account.get("sam") or account["dn"]
    result = []
    context = gpo_context or GpoContext(conn)
    try:
        for guid in guids:
            found = find_gpos(conn, guid)
            if not found:
                continue
            gpo = found[0]
            entry: dict[str, t.Any] = {"name": gpo.name, "guid": gpo.guid, "links": [], "reaches": {},
                                       "grants_identity": False, "identities": []}
            try:
                sysvol, folder = context.folder(gpo)
                data = sysvol.read(join(folder, INF_RELATIVE_PATH))
            except WinauthError as exc:
                view["warnings"].append("GPO %s: cannot read its security template from SYSVOL: %s" % (gpo.name, exc))
                data = None
            holders = InfDocument.parse(data).privilege("SeBatchLogonRight") if data else None
            for holder in holders or []:
                sid = normalize_sid(holder) if is_sid(holder) else None
                name = identity_sids.get(sid.upper()) if sid else next(
                    (a.get("sam") for a in view["accounts"].values() if holder.split("\\")[-1].lower() == str(
                        a.get("sam", "")).lower()), None)
                if name:
                    entry["grants_identity"] = True
                    entry["identities"].append(name)
            entry["defines_batch_logon"] = holders is not None
            reaches = {name: False for name in computers}
            for container, value in containers_linking(conn, gpo.guid):
                for link in entries(parse_gplink(value)):
                    if link.guid != gpo.guid or not link.enabled:
                        continue
                    entry["links"].append(container)
                    between = sorted({som for dn in computers.values() for som in soms_between(container, dn)})
                    blocked = blocks_inheritance(conn, between) if between else {}
                    for scope in evaluate_scope(container, link.enforced, computers, blocked):
                        reaches[scope.computer] = reaches[scope.computer] or scope.in_scope
            entry["reaches"] = reaches
            result.append(entry)
    finally:
        if gpo_context is None:
            context.close()
    return result
