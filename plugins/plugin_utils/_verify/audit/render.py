# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""The audit's reports: the counts, who holds which SPN and which pool runs as whom, the text, the picture. Pure."""

from __future__ import annotations

import typing as t

from ansible_collections.webfarm.winauth.plugins.plugin_utils._verify.audit.farm import (
    account_key,
    farm_applications,
    interesting_spns,
)
from ansible_collections.webfarm.winauth.plugins.plugin_utils._verify.audit.rules import (
    decrypts_with,
    pool_label,
    spn_holders,
)


def summary(findings: t.Sequence[dict[str, t.Any]]) -> dict[str, int]:
    counts = {"error": 0, "warning": 0, "info": 0}
    for item in findings:
        counts[item["severity"]] += 1
    return counts


def ownership(farm: dict[str, t.Any], nodes: t.Sequence[dict[str, t.Any]],
              directory: dict[str, t.Any]) -> dict[str, t.Any]:
    """Who holds which SPN of interest, and which pool runs as whom (for the text and the picture)."""
    spns = {}
    for spn in interesting_spns(farm, nodes, directory):
        holders = spn_holders(directory, spn)
        if holders or spn.upper().startswith("HTTP/") and spn.split("/", 1)[1] in farm["names"]:
            spns[spn] = [h.get("sam") or h.get("dn") for h in holders]
    pools = []
    for node in nodes:
        for app in farm_applications(farm, node) if node.get("role") != "front_end" else node.get("applications", []):
            pool = node["pools"].get(app["pool"])
            account, _why = decrypts_with(app, pool, node["computer"]) if app["windows"]["enabled"] else ("", "")
            pools.append({"node": node["host"], "role": node.get("role", "node"), "location": app["location"],
                          "pool": app["pool"], "identity": pool_label(pool, app["pool"]),
                          "decrypts_with": account or None, "windows": app["windows"]["enabled"],
                          "anonymous": app["anonymous"]["enabled"], "providers": app["windows"]["providers"]})
    return {"spns": spns, "pools": pools}


def render_text(farm: dict[str, t.Any], nodes: t.Sequence[dict[str, t.Any]], directory: dict[str, t.Any],
                findings: t.Sequence[dict[str, t.Any]]) -> str:
    counts = summary(findings)
    owners = ownership(farm, nodes, directory)
    kind = "L4 load balancer" if farm["kind"] == "lb" else "ARR front end"
    lines = ["Farm audit: %s (%s, %s mode; names: %s)" % (farm["name"], kind, farm["mode"], ", ".join(farm["names"])),
             "Nodes: %s" % ", ".join("%s (%s)" % (n["host"], n.get("role", "node")) for n in nodes),
             "Findings: %d error(s), %d warning(s), %d note(s)" % (counts["error"], counts["warning"], counts["info"]),
             ""]
    for index, item in enumerate(findings, 1):
        lines.append("%d. [%s] %s%s" % (index, item["severity"].upper(), item["title"],
                                        " (%s)" % item["node"] if item["node"] else ""))
        lines.append("   %s" % item["detail"])
        lines.append("   Fix: %s" % item["fix"])
        lines.append("")
    if not findings:
        lines += ["No problems found.", ""]
    lines.append("Who holds the SPNs:")
    for spn, holders in owners["spns"].items():
        lines.append("  %-40s %s" % (spn, ", ".join(str(h) for h in holders) or "(nobody)"))
    lines.append("")
    lines.append("Application pools:")
    for row in owners["pools"]:
        auth = ("Windows (%s)" % ", ".join(row["providers"]) if row["windows"] else "no Windows auth") + (
            ", anonymous on" if row["anonymous"] else "")
        lines.append("  %-10s %-28s pool %-20s runs as %-24s %s%s" % (
            row["node"], row["location"], row["pool"], row["identity"], auth,
            "; decrypts with %s" % row["decrypts_with"] if row["decrypts_with"] else ""))
    return "\n".join(lines) + "\n"


def _dot_id(text: str) -> str:
    return '"%s"' % text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def render_dot(farm: dict[str, t.Any], nodes: t.Sequence[dict[str, t.Any]], directory: dict[str, t.Any],
               findings: t.Sequence[dict[str, t.Any]]) -> str:
    """Graphviz DOT: SPNs -> the accounts holding them; node pools -> the identity they run as."""
    owners = ownership(farm, nodes, directory)
    bad_spns = {f.get("spn", "").lower() for f in findings if f["severity"] == "error" and f.get("spn")}
    bad_nodes = {f["node"] for f in findings if f["severity"] == "error" and f.get("node")}
    lines = ["digraph farm_audit {", '  rankdir=LR; fontname="Helvetica"; node [fontname="Helvetica", fontsize=10];',
             '  edge [fontname="Helvetica", fontsize=9];',
             '  label=%s; labelloc=t;' % _dot_id("%s: who holds which SPN, which pool runs as whom" % farm["name"])]
    accounts: dict[str, str] = {}          # lower-case name -> the name as the directory spells it
    for spn, holders in owners["spns"].items():
        color = "red" if spn.lower() in bad_spns else "black"
        lines.append('  %s [shape=note, color=%s];' % (_dot_id(spn), color))
        for holder in holders:
            accounts.setdefault(str(holder).lower(), str(holder))
            lines.append('  %s -> %s [label="held by", color=%s];' % (_dot_id(spn), _dot_id(str(holder).lower()),
                                                                      color))
        if not holders:
            lines.append('  %s -> %s [style=dashed, color=red];' % (_dot_id(spn), _dot_id("(no holder)")))
    for row in owners["pools"]:
        pool_id = "%s: %s" % (row["node"], row["pool"])
        color = "red" if row["node"] in bad_nodes else "black"
        lines.append('  %s [shape=box, style=rounded, color=%s, label=%s];' % (
            _dot_id(pool_id), color, _dot_id("%s\n%s (%s)" % (row["node"], row["pool"], row["location"]))))
        identity = row["identity"]
        target = account_key(identity) if "\\" in identity or "@" in identity else identity.lower()
        accounts.setdefault(target, identity)
        lines.append('  %s -> %s [label="runs as", color=%s];' % (_dot_id(pool_id), _dot_id(target), color))
        if row["decrypts_with"] and row["decrypts_with"] != target:
            accounts.setdefault(row["decrypts_with"], row["decrypts_with"].upper() if row["decrypts_with"].endswith(
                "$") else row["decrypts_with"])
            lines.append('  %s -> %s [label="decrypts with", style=dashed, color=%s];' % (
                _dot_id(pool_id), _dot_id(row["decrypts_with"]), color))
    for account, label in sorted(accounts.items()):
        shape = "box3d" if account.endswith("$") else "ellipse"
        lines.append('  %s [shape=%s, label=%s];' % (_dot_id(account), shape, _dot_id(label)))
    lines.append("}")
    return "\n".join(lines) + "\n"
