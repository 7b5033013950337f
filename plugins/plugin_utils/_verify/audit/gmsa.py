# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""gMSA farms: the audit rule that each node may retrieve the password of its pool's gMSA. Pure logic, no I/O.

The directory view holds, for a gMSA identity, the decision of ``gmsa_rules.retrieval_decision`` for each node's
computer token against ``msDS-GroupMSAMembership`` (what ``Test-ADServiceAccount`` answers on the node). A node
that may not retrieve it cannot start the pool: WAS logs event 5021 and IIS answers 503.
"""

from __future__ import annotations

import typing as t

from ansible_collections.webfarm.winauth.plugins.plugin_utils._verify.audit.farm import (
    account_key,
    account_label,
    farm_applications,
    pool_is_domain,
)
from ansible_collections.webfarm.winauth.plugins.plugin_utils._verify.audit.findings import finding


def gmsa_rules(farm: dict[str, t.Any], nodes: t.Sequence[dict[str, t.Any]],
               directory: dict[str, t.Any]) -> list[dict[str, t.Any]]:
    """``gmsa_retrieval_denied`` for each node whose pool runs as a gMSA it may not retrieve the password of."""
    out = []
    for node in nodes:
        computer = str(node["computer"]).upper()
        for app in farm_applications(farm, node):
            pool = node["pools"].get(app["pool"])
            if pool is None or not pool_is_domain(pool):
                continue
            account = directory.get("accounts", {}).get(account_key(pool["username"]))
            if not account or account.get("kind") != "gMSA":
                continue
            decision = (account.get("retrieval") or {}).get(computer)
            if decision is None or decision.get("allowed"):
                continue
            label = account_label(directory, account)
            out.append(finding(
                "gmsa_retrieval_denied", "warning" if decision.get("unset") else "error", node["host"],
                "The node may not retrieve the password of its pool's gMSA",
                "Pool %s on %s runs as the gMSA %s, but %s$ may not retrieve its password (%s, as "
                "Test-ADServiceAccount answers there): WAS cannot start the pool (event 5021) and IIS answers 503."
                % (app["pool"], node["host"], label, computer, decision.get("reason")),
                "Allow %s$ (or a group it is in) to retrieve it: webfarm.winauth.gmsa_access with account: %s, "
                "principals: [%s$], mode: add; the computer picks up a new group at its next restart or "
                "klist purge -li 0x3e7." % (computer, label, computer), location=app["location"], account=label))
    return out
