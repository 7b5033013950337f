# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""The farm audit's rules: what a farm's nodes and its directory say, and what will fail. Pure logic, no I/O.

Inputs are plain dictionaries, so that they travel through Ansible results:

* a **node snapshot** per node (``snapshot.node_snapshot`` builds it from one ``iis_config`` read and the
  node's effective ``SeBatchLogonRight`` holders): its applications with their location, pool,
  bindings, Windows and anonymous authentication; its pools and their identities; for an ARR
  front end, its web farms, global rules and proxy switch;
* a **directory view** (``directory.read_directory``): who holds the SPNs of the farm's names
  and of the nodes' own names (HTTP and HOST), the pool identities' and the nodes' accounts (with
  SIDs and group SIDs), and the GPOs that grant ``SeBatchLogonRight`` to a pool identity, where
  they are linked and which farm computers those links reach.

``audit(farm, snapshots, directory)`` returns findings, each a dict with ``id``, ``severity``
(``error``: authentication or the site will fail; ``warning``: it works by luck or is fragile;
``info``), ``node`` (or null for the farm), ``title``, ``detail`` and ``fix``. ``render`` makes the
report people read and the picture of who holds which SPN and which pool runs as whom.
"""

from __future__ import annotations

import typing as t

from ansible_collections.webfarm.winauth.plugins.plugin_utils._verify import acceptor
from ansible_collections.webfarm.winauth.plugins.plugin_utils._verify.audit.channel_binding import extended_protection_rules
from ansible_collections.webfarm.winauth.plugins.plugin_utils._verify.audit.farm import (
    account_key,
    farm_applications,
    interesting_spns,
    own_names,
    pool_is_domain,
    spns_of,
)
from ansible_collections.webfarm.winauth.plugins.plugin_utils._verify.audit.findings import SEVERITY_ORDER, finding
from ansible_collections.webfarm.winauth.plugins.plugin_utils._verify.audit.dns import cname_rules
from ansible_collections.webfarm.winauth.plugins.plugin_utils._verify.audit.gmsa import gmsa_rules
from ansible_collections.webfarm.winauth.plugins.plugin_utils._verify.audit.identity import identity_rules


def pool_label(pool: dict[str, t.Any] | None, pool_name: str = "") -> str:
    if pool is None:
        return "(no such pool)"
    return acceptor.identity_label(pool.get("identity_type"), pool.get("username"), pool_name)


def decrypts_with(app: dict[str, t.Any], pool: dict[str, t.Any] | None, computer: str) -> tuple[str, str]:
    """(sAMAccountName whose keys decrypt tickets here, lower case; why). "" when no account's keys can."""
    windows = app["windows"]
    source = acceptor.decrypting_account(windows["use_kernel_mode"], windows["use_app_pool_credentials"],
                                         pool.get("identity_type") if pool is not None else None,
                                         (pool or {}).get("username"), computer)
    return source.key, source.reason


# --- findings ----------------------------------------------------------------------------------------------------

def spn_holders(directory: dict[str, t.Any], spn: str) -> list[dict[str, t.Any]]:
    return list(directory.get("spn_holders", {}).get(spn.lower(), []))


def _label(account: dict[str, t.Any]) -> str:
    return "%s (%s)" % (account.get("sam") or account.get("dn"), account.get("kind", "account"))


def audit(farm: dict[str, t.Any], nodes: t.Sequence[dict[str, t.Any]], directory: dict[str, t.Any],
          scope: str = "farm") -> list[dict[str, t.Any]]:
    """Every finding (see the module docstring), most severe first.

    ``scope="node"``: ``nodes`` is one node of a larger farm; the rules that compare the nodes with each
    other (different identities, an SPN that no node decrypts with) are left for the farm pass.
    """
    findings: list[dict[str, t.Any]] = []
    findings += _duplicates(farm, nodes, directory)
    findings += _host_spns(farm, directory)
    findings += _hostname_trap(farm, nodes, directory)
    if scope == "farm":
        findings += _identities(farm, nodes)
    for node in nodes:
        findings += _node_rules(farm, node, directory)
    if scope == "farm":
        findings += _unused_holder(farm, nodes, directory)
    findings += _gpo_scope(farm, nodes, directory)
    findings += identity_rules(directory)
    findings += gmsa_rules(farm, nodes, directory)
    findings += cname_rules(farm, directory)
    unique: list[dict[str, t.Any]] = []
    seen = set()
    for item in findings:
        key = (item["id"], item["node"], item["detail"])
        if key not in seen:
            seen.add(key)
            unique.append(item)
    return sorted(unique, key=lambda f: (SEVERITY_ORDER[f["severity"]], f["node"] or "", f["id"]))


def _duplicates(farm: dict[str, t.Any], nodes: t.Sequence[dict[str, t.Any]],
                directory: dict[str, t.Any]) -> list[dict[str, t.Any]]:
    out = []
    for spn in interesting_spns(farm, nodes, directory):
        holders = spn_holders(directory, spn)
        if len(holders) > 1:
            out.append(finding(
                "duplicate_spn", "error", None, "Duplicate SPN %s" % spn,
                "%s is registered on %d accounts: %s. The KDC cannot tell which key encrypts the ticket; Windows "
                "clients get KDC_ERR_PRINCIPAL_NOT_UNIQUE or a ticket the node cannot decrypt, and fall back to NTLM "
                "or fail (setspn -X reports it as 'Duplicate SPN found')." % (spn, len(holders), ", ".join(
                    _label(h) for h in holders)),
                "Keep %s on the account that runs the farm's application pool only (%s) and remove it from the "
                "others (webfarm.winauth.spn with state: absent, or setspn -D)." % (
                    spn, farm.get("identity") or "the pool identity"), spn=spn,
                accounts=[h.get("sam") or h.get("dn") for h in holders]))
    return out


def _host_spns(farm: dict[str, t.Any], directory: dict[str, t.Any]) -> list[dict[str, t.Any]]:
    out = []
    for name in farm["names"]:
        host_spn, http_spn = "HOST/%s" % name, "HTTP/%s" % name
        for holder in spn_holders(directory, host_spn):
            if holder.get("is_computer") and name.split(".", 1)[0] == str(holder.get("sam", "")).rstrip("$").lower():
                continue       # a computer's own HOST SPN (its own name): normal
            http = spn_holders(directory, http_spn)
            out.append(finding(
                "host_spn_for_web_name", "error" if not http else "warning", None,
                "HOST SPN registered for the web name %s" % name,
                "%s is registered on %s%s. A web alias needs an HTTP SPN: HOST/ covers every service of a computer, "
                "and the KDC maps HTTP/%s to HOST/%s only while no HTTP/%s exists, so the ticket's key depends on "
                "registrations elsewhere (KB 325608: 'do not register a HOST/SPN ... Register an HTTP SPN')." % (
                    host_spn, _label(holder), "" if http else ", and no account holds %s" % http_spn, name, name, name),
                "Remove %s from %s and register %s on the pool identity (webfarm.winauth.spn)." % (
                    host_spn, holder.get("sam"), http_spn), spn=host_spn, account=holder.get("sam")))
    return out


def _hostname_trap(farm: dict[str, t.Any], nodes: t.Sequence[dict[str, t.Any]],
                   directory: dict[str, t.Any]) -> list[dict[str, t.Any]]:
    out = []
    for node in nodes:
        computer = node["computer"]
        for name in own_names(node, directory):
            seed = (" Seed 000 registers HTTP/<content server FQDN> on the shared account; when that FQDN is the "
                    "server's own name, this is what happens." if name in farm["names"] else "")
            spn = "HTTP/%s" % name
            for holder in spn_holders(directory, spn):
                if holder.get("is_computer") and str(holder.get("sam", "")).lower() == "%s$" % computer.lower():
                    continue
                out.append(finding(
                    "hostname_spn_on_service_account", "error", node["host"],
                    "HTTP SPN for %s's own name on %s" % (computer, holder.get("sam")),
                    "%s is registered on %s. Every HTTP service of %s that runs as the machine (WinRM, and with it "
                    "Ansible's Kerberos connection; IIS sites in kernel mode) now gets tickets encrypted with %s's "
                    "key, which the machine does not have: Kerberos to them fails.%s" % (
                        spn, _label(holder), computer, holder.get("sam"), seed),
                    "Remove %s from %s (webfarm.winauth.spn state: absent) and reach the site by a name of its own "
                    "(an alias whose HTTP SPN is on the pool identity). Until then, connect to the node with "
                    "ansible_winrm_service: HOST." % (spn, holder.get("sam")), spn=spn, account=holder.get("sam")))
    return out


def _identities(farm: dict[str, t.Any], nodes: t.Sequence[dict[str, t.Any]]) -> list[dict[str, t.Any]]:
    if farm["kind"] != "lb":
        return []
    seen: dict[str, list[str]] = {}
    for node in nodes:
        for app in farm_applications(farm, node):
            pool = node["pools"].get(app["pool"])
            seen.setdefault(pool_label(pool, app["pool"]).lower(), []).append(node["host"])
    if len(seen) <= 1:
        return []
    parts = ["%s on %s" % (identity, ", ".join(hosts)) for identity, hosts in sorted(seen.items())]
    return [finding(
        "mixed_pool_identities", "error", None, "The farm's nodes run the site as different identities",
        "Behind an L4 load balancer every node receives tickets for the same SPN, encrypted with the key of the one "
        "account that holds it, so every node must decrypt with that account: the pools run as %s." % "; ".join(
            parts),
        "Run the application pool as the same domain account on every node (webfarm.winauth.app_pool, or the "
        "webfarm.winauth.lb_farm role) and register the farm's HTTP SPNs on that account only.",
        identities=sorted(seen))]


def _node_rules(farm: dict[str, t.Any], node: dict[str, t.Any], directory: dict[str, t.Any]) -> list[dict[str, t.Any]]:
    out: list[dict[str, t.Any]] = []
    host, computer = node["host"], node["computer"]
    if node.get("role") == "front_end":
        return _front_end(farm, node)
    for app in farm_applications(farm, node):
        pool = node["pools"].get(app["pool"])
        windows = app["windows"]
        where = "%s on %s (pool %s, %s)" % (app["location"], host, app["pool"], pool_label(pool, app["pool"]))
        if pool is None:
            out.append(finding(
                "pool_missing", "error", host, "The application pool of %s does not exist" % app["location"],
                "%s is assigned to pool %s, which %s does not have: IIS answers 503." % (
                    app["location"], app["pool"], host),
                "Create the pool or assign an existing one (webfarm.winauth.app_pool).", location=app["location"]))
            continue
        if not windows["enabled"]:
            if not app["anonymous"]["enabled"]:
                out.append(finding("no_authentication", "error", host, "Neither anonymous nor Windows authentication",
                                   "%s has both off: IIS answers 401.2 to everyone." % where,
                                   "Enable Windows authentication (webfarm.winauth.web_auth).",
                                   location=app["location"]))
            else:
                out.append(finding("windows_auth_off", "warning", host, "Windows authentication is off",
                                   "%s serves requests anonymously; nobody is authenticated." % where,
                                   "Enable Windows authentication and disable anonymous authentication there "
                                   "(webfarm.winauth.web_auth).", location=app["location"]))
            continue
        if farm["kind"] == "arr" and node.get("role") == "content":
            out += _shared_connection(node, app, where)
        out += extended_protection_rules(farm, node, app, where)
        if app["anonymous"]["enabled"]:
            out.append(finding(
                "anonymous_and_windows", "warning", host, "Anonymous authentication is on beside Windows authentication",
                "%s has both on: IIS serves every request anonymously and never asks for Windows credentials unless "
                "authorization refuses the anonymous user." % where,
                "Disable anonymous authentication where users must be identified (webfarm.winauth.web_auth "
                "anonymous.enabled: false).", location=app["location"]))
        negotiate = [p for p in windows["providers"] if p.lower().startswith("negotiate")]
        if not negotiate:
            if farm["mode"] == "kerberos":
                out.append(finding(
                    "ntlm_only_providers", "error", host, "NTLM-only providers where Kerberos is intended",
                    "%s offers only %s: clients never try Kerberos, whatever the SPNs (seed 004's NTLM workaround)."
                    % (where, ", ".join(windows["providers"]) or "no provider"),
                    "Set the providers to Negotiate, NTLM (webfarm.winauth.web_auth windows.providers), or declare "
                    "the farm mode: ntlm if NTLM is what you want.", location=app["location"]))
            continue
        if farm["mode"] == "ntlm":
            continue
        account, why = decrypts_with(app, pool, computer)
        if pool_is_domain(pool) and account == "%s$" % computer.lower():
            out.append(finding(
                "kernel_mode_machine_keys", "error", host,
                "Kerberos decrypted with the computer account for a domain identity",
                "%s has useKernelMode=true and useAppPoolCredentials=false: HTTP.sys decrypts Kerberos tickets with "
                "%s$'s keys, but the farm's SPN belongs with the pool identity %s, so its tickets fail with "
                "401.1 (KRB_AP_ERR_MODIFIED)." % (where, computer, pool["username"]),
                "Set useAppPoolCredentials=true (keeps kernel mode) or useKernelMode=false "
                "(webfarm.winauth.web_auth windows.use_app_pool_credentials: true).", location=app["location"]))
        out += _spn_placement(farm, node, app, pool, account, why, directory)
        out += _batch_logon(node, app, pool, directory)
    return out


def _shared_connection(node: dict[str, t.Any], app: dict[str, t.Any], where: str) -> list[dict[str, t.Any]]:
    """A content server behind ARR that keeps an authentication for the whole back-end connection."""
    windows = app["windows"]
    risk = acceptor.connection_identity_risk(windows["providers"], bool(windows.get("auth_persist_single_request")),
                                             bool(windows.get("auth_persist_non_ntlm")))
    if not risk:
        return []
    return [finding(
        "shared_connection_identity", "error", node["host"],
        "Another client's request can be served as a user who authenticated earlier",
        "%s is a content server behind ARR, and IIS keeps %s for the whole connection. ARR sends requests of "
        "many clients over its back-end connections, so a request that arrives on a connection a user "
        "authenticated is served as that user, with no credentials of its own (an anonymous client gets another "
        "person's identity and data)." % (where, risk),
        "Set authPersistSingleRequest=true at %s on %s (webfarm.winauth.web_auth windows.auth_persist_single_request: "
        "true; the webfarm.winauth.arr_farm role sets it on every content server)." % (app["location"], node["host"]),
        location=app["location"])]


def _spn_placement(farm: dict[str, t.Any], node: dict[str, t.Any], app: dict[str, t.Any], pool: dict[str, t.Any],
                   account: str, why: str, directory: dict[str, t.Any]) -> list[dict[str, t.Any]]:
    out = []
    host = node["host"]
    for spn in spns_of(farm["names"]):
        holders = spn_holders(directory, spn)
        if not holders:
            if spn_holders(directory, "HOST/%s" % spn.split("/", 1)[1]):
                continue          # reported as host_spn_for_web_name
            out.append(finding(
                "spn_missing", "error" if farm.get("kind") == "lb" or "." in spn else "warning", host,
                "No account holds %s" % spn,
                "Clients get no ticket for %s (KDC_ERR_S_PRINCIPAL_UNKNOWN) and Negotiate falls back to NTLM on %s."
                % (spn, host),
                "Register %s on %s (webfarm.winauth.spn)." % (spn, pool.get("username") or account), spn=spn))
            continue
        if len(holders) > 1 or not account:
            continue          # duplicates are reported once for the farm
        holder = holders[0]
        if str(holder.get("sam", "")).lower() == account:
            continue
        if holder.get("is_computer") and pool_is_domain(pool) and account != "%s$" % node["computer"].lower():
            fid, title = "spn_on_computer_account", "%s is on a computer account while the pool runs as %s" % (
                spn, pool["username"])
            detail = ("%s holds %s (seed 001's setspn on Server1$), but on %s %s: tickets for %s are encrypted with "
                      "%s's key and %s cannot decrypt them (401.1)." % (
                          _label(holder), spn, host, why, spn, holder.get("sam"), host))
        else:
            fid, title = "spn_on_wrong_account", "%s is held by %s, not by the account that decrypts on %s" % (
                spn, holder.get("sam"), host)
            detail = "%s holds %s, but on %s %s (%s): Kerberos fails there with 401.1." % (
                _label(holder), spn, host, why, account)
        out.append(finding(fid, "error", host, title, detail,
                           "Move %s to %s (webfarm.winauth.spn with on_conflict: move; the lb_farm role's "
                           "lb_farm_spn_on_conflict: move does it for the farm)." % (spn, pool.get("username")
                                                                                     or account),
                           spn=spn, account=holder.get("sam"), expected=account))
    return out


def _batch_logon(node: dict[str, t.Any], app: dict[str, t.Any], pool: dict[str, t.Any],
                 directory: dict[str, t.Any]) -> list[dict[str, t.Any]]:
    holders = node.get("batch_logon")
    if holders is None or not pool_is_domain(pool):
        return []
    account = directory.get("accounts", {}).get(account_key(str(pool["username"])), {})
    sids = {s.upper() for s in [account.get("sid")] + list(account.get("group_sids", [])) if s}
    names = {str(pool["username"]).lower(), account_key(str(pool["username"]))}
    if account.get("sam") and directory.get("netbios"):
        names.add(("%s\\%s" % (directory["netbios"], account["sam"])).lower())
    for holder in holders:
        if str(holder.get("sid") or "").upper() in sids or str(holder.get("name") or "").lower() in names:
            return []
    shown = ", ".join(str(h.get("name") or h.get("sid")) for h in holders) or "nobody"
    return [finding(
        "batch_logon_missing", "error", node["host"], "%s cannot log on as a batch job on %s" % (
            pool["username"], node["host"]),
        "Pool %s runs as %s, which does not hold SeBatchLogonRight ('Log on as a batch job') on %s (effective "
        "holders: %s): WAS cannot start the worker process (event 5021) and the site answers 503 from the next pool "
        "start on." % (app["pool"], pool["username"], node["host"], shown),
        "Grant the right to %s in a GPO linked to the OU of %s's computer account (webfarm.winauth.gpo_user_rights, "
        "webfarm.winauth.gpo_link), run gpupdate /force (webfarm.winauth.policy_refresh), then restart the pool."
        % (pool["username"], node["computer"]), account=pool["username"])]


def _front_end(farm: dict[str, t.Any], node: dict[str, t.Any]) -> list[dict[str, t.Any]]:
    out = []
    host = node["host"]
    arr = node.get("arr") or {}
    rewrites = [r for r in arr.get("rules", []) if r.get("enabled") and r.get("action") == "Rewrite"]
    proxies = bool(arr.get("proxy_enabled")) and any("://" in r.get("url", "") for r in rewrites)
    if not proxies:
        out.append(finding("arr_not_proxying", "warning", host, "The front end does not proxy",
                           "%s is declared an ARR front end, but %s." % (host, "ARR's proxy is off" if not arr.get(
                               "proxy_enabled") else "no enabled rule rewrites to a web farm"),
                           "Configure the farm, the rule and the proxy (webfarm.winauth.arr_farm)."))
    for app in node.get("applications", []):
        if farm.get("location") and app["location"].lower() != farm["location"].lower():
            continue
        if app["windows"]["enabled"]:
            out.append(finding(
                "windows_auth_on_arr_front_end", "error", host, "Windows authentication on the ARR front end",
                "%s has Windows authentication on at %s: the front end answers the Negotiate exchange itself "
                "(anonymous %s) instead of passing it to the content servers, which then see no usable credentials "
                "(seed 000: anonymous on, Windows authentication off on the ARR server)." % (
                    host, app["location"], "on" if app["anonymous"]["enabled"] else "off"),
                "On the front end: anonymous on, Windows authentication off (webfarm.winauth.arr_farm front door, "
                "or webfarm.winauth.web_auth).", location=app["location"]))
    return out


def _unused_holder(farm: dict[str, t.Any], nodes: t.Sequence[dict[str, t.Any]],
                   directory: dict[str, t.Any]) -> list[dict[str, t.Any]]:
    """An SPN of the farm on an account that no node decrypts with."""
    if farm["mode"] != "kerberos":
        return []
    decrypting: set[str] = set()
    identities: set[str] = set()
    for node in nodes:
        if node.get("role") == "front_end":
            continue
        for app in farm_applications(farm, node):
            pool = node["pools"].get(app["pool"])
            account, _why = decrypts_with(app, pool, node["computer"])
            if account:
                decrypting.add(account)
            if pool is not None and pool_is_domain(pool):
                identities.add(account_key(str(pool["username"])))
    if not decrypting:
        return []
    out = []
    for spn in spns_of(farm["names"]):
        holders = spn_holders(directory, spn)
        if len(holders) != 1:
            continue
        holder = holders[0]
        sam = str(holder.get("sam", "")).lower()
        if sam in decrypting:
            continue
        runs = "no pool of the farm runs as %s" % holder.get("sam") if sam not in identities else \
            "the pools that run as %s do not decrypt with its keys" % holder.get("sam")
        out.append(finding(
            "spn_on_unused_account", "error", None, "%s is held by an account the farm does not decrypt with" % spn,
            "%s holds %s, but %s; the nodes decrypt with %s. Every Kerberos request for %s fails." % (
                _label(holder), spn, runs, ", ".join(sorted(decrypting)), spn),
            "Register %s on the account the nodes decrypt with (%s) and remove it from %s." % (
                spn, ", ".join(sorted(decrypting)), holder.get("sam")), spn=spn, account=holder.get("sam")))
    return out


def _gpo_scope(farm: dict[str, t.Any], nodes: t.Sequence[dict[str, t.Any]],
               directory: dict[str, t.Any]) -> list[dict[str, t.Any]]:
    out = []
    computers = sorted({n["computer"] for n in nodes})
    for gpo in directory.get("gpos", []):
        if not gpo.get("grants_identity"):
            continue
        reached = sorted(c for c, ok in (gpo.get("reaches") or {}).items() if ok)
        links = gpo.get("links") or []
        if reached:
            missed = [c for c in computers if c not in reached]
            if missed and farm.get("batch_logon_gpo") and gpo.get("name", "").lower() == str(
                    farm["batch_logon_gpo"]).lower():
                out.append(finding(
                    "batch_logon_gpo_partial_scope", "warning", None,
                    "GPO %s does not reach every node" % gpo.get("name"),
                    "GPO %s grants SeBatchLogonRight to %s and reaches %s, but not %s." % (
                        gpo.get("name"), ", ".join(gpo.get("identities", [])), ", ".join(reached), ", ".join(missed)),
                    "Link it to the OU that holds every node's computer account (webfarm.winauth.gpo_link).",
                    gpo=gpo.get("name")))
            continue
        where = ", ".join(links) or "nowhere"
        out.append(finding(
            "batch_logon_gpo_out_of_scope", "error" if links else "warning", None,
            "GPO %s grants the batch-logon right where none of the farm's computers are" % gpo.get("name"),
            "GPO %s grants SeBatchLogonRight to %s but is linked to %s, whose scope holds none of %s. User rights "
            "assignment is computer policy: it applies to the computers under the linked OU, not to the OU of the "
            "service account (seed 001 links it to OU=ServiceAccounts)." % (
                gpo.get("name"), ", ".join(gpo.get("identities", [])), where, ", ".join(computers)),
            "Link the GPO to the OU of the web servers' computer accounts%s (webfarm.winauth.gpo_link with "
            "expect_computers), then gpupdate /force." % (
                " (%s)" % directory["computer_ou"] if directory.get("computer_ou") else ""), gpo=gpo.get("name")))
    return out
