# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""Extended Protection behind TLS termination: the audit rule. Pure logic, no I/O.

A client's channel binding token (CBT) names the TLS connection the client opened. When TLS ends in front of the
node (on an ARR front end, or on a balancer that offloads it), the node's own connection is another one (or plain
HTTP), so the CBT can never match: ``tokenChecking=Require`` refuses every request with 401, ``Allow`` refuses
those of clients that send one (Windows, and browsers on Windows). IIS's answer is the ``Proxy`` flag: the node
then checks the service binding (the SPN in the client's token against ``extendedProtection``'s SPN list) instead
of the channel binding.
"""

from __future__ import annotations

import typing as t

from ansible_collections.webfarm.winauth.plugins.plugin_utils._verify.audit.farm import spns_of
from ansible_collections.webfarm.winauth.plugins.plugin_utils._verify.audit.findings import finding


def _terminated_by(farm: dict[str, t.Any], node: dict[str, t.Any]) -> str | None:
    if farm["kind"] == "arr" and node.get("role") == "content":
        return "the ARR front end"
    if farm.get("tls_offload"):
        return "the load balancer (farm.tls_offload)"
    return None


def extended_protection_rules(farm: dict[str, t.Any], node: dict[str, t.Any], app: dict[str, t.Any],
                              where: str) -> list[dict[str, t.Any]]:
    """One finding for an application whose Extended Protection cannot work where TLS ends in front of it."""
    protection = app["windows"].get("extended_protection") or {}
    checking = str(protection.get("token_checking") or "None")
    terminated = _terminated_by(farm, node)
    if checking.lower() == "none" or terminated is None:
        return []
    host, location = node["host"], app["location"]
    flags = [str(f).lower() for f in protection.get("flags") or []]
    if "proxy" in flags:
        wanted = spns_of(farm["names"])
        listed = {str(s).lower() for s in protection.get("spns") or []}
        missing = [spn for spn in wanted if spn.lower() not in listed]
        if not missing or "noservicenamecheck" in flags:
            return []
        return [finding(
            "extended_protection_spn_list", "error" if checking.lower() == "require" else "warning", host,
            "Extended Protection checks a service name the farm's clients do not ask for",
            "%s has tokenChecking=%s with the Proxy flag, so behind %s it checks the SPN in each client's token "
            "against its SPN list (%s), which lacks %s: those clients are refused with 401."
            % (where, checking, terminated, ", ".join(protection.get("spns") or []) or "empty", ", ".join(missing)),
            "List the farm's SPNs at %s on %s (webfarm.winauth.web_auth windows.extended_protection.spns: [%s])."
            % (location, host, ", ".join(wanted)), location=location)]
    consequence = ("every request is refused with 401" if checking.lower() == "require" else
                   "clients that send one (Windows, and browsers on Windows) are refused with 401, the others pass "
                   "without the protection")
    return [finding(
        "extended_protection_behind_tls_termination", "error" if checking.lower() == "require" else "warning", host,
        "Extended Protection cannot match a channel binding where TLS ends in front of the node",
        "%s has tokenChecking=%s, but TLS ends on %s: a client's channel binding token names the TLS connection it "
        "opened there, never the connection %s sees, so %s." % (where, checking, terminated, host, consequence),
        "At %s on %s, either add the Proxy flag with the farm's SPNs, so IIS checks the service name instead "
        "(webfarm.winauth.web_auth windows.extended_protection: {flags: [Proxy], spns: [%s]}), or set "
        "token_checking: None." % (location, host, ", ".join(spns_of(farm["names"]))), location=location)]
