# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""The farm's names as a resolver answers them, and the audit rule on aliases (CNAME records).

Browsers build the SPN of a Negotiate request from the *canonical* name of the host they connect to (Chrome and
Edge do by default; Windows' own HTTP stack follows CNAME records too): a farm name that is a CNAME of another
name makes them ask for ``HTTP/<canonical name>``, not for the farm's SPN. ``canonical_names`` is the one function
here that does I/O (the controller's resolver, which stands in for the clients'); ``cname_rules`` is pure.
"""

from __future__ import annotations

import socket
import typing as t

from ansible_collections.webfarm.winauth.plugins.plugin_utils._verify.audit.findings import finding


def canonical_names(names: t.Iterable[str], resolve: t.Callable[..., t.Any] = socket.getaddrinfo
                    ) -> dict[str, str | None]:
    """Each name's canonical name (lower case, no trailing dot) as the resolver answers; None: it does not resolve."""
    out: dict[str, str | None] = {}
    for name in names:
        try:
            answers = resolve(name, None, 0, socket.SOCK_STREAM, 0, socket.AI_CANONNAME)
        except (OSError, UnicodeError):
            out[name] = None
            continue
        canonical = next((str(a[3]) for a in answers if len(a) > 3 and a[3]), "")
        out[name] = canonical.rstrip(".").lower() or name.lower()
    return out


def _label(account: dict[str, t.Any]) -> str:
    return str(account.get("sam") or account.get("dn"))


def cname_rules(farm: dict[str, t.Any], directory: dict[str, t.Any]) -> list[dict[str, t.Any]]:
    """``farm_name_is_alias``: a farm name whose canonical name is not one of the farm's, and whose SPN for that
    canonical name is not on the account that holds the farm's SPN."""
    out = []
    holders = directory.get("spn_holders") or {}
    for name, canonical in sorted((farm.get("canonical_names") or {}).items()):
        if not canonical or canonical == name.lower() or canonical in farm["names"]:
            continue
        wanted = {_label(a).lower() for a in holders.get("http/%s" % name.lower(), [])}
        asked = holders.get("http/%s" % canonical, [])
        if wanted and wanted <= {_label(a).lower() for a in asked}:
            continue
        out.append(finding(
            "farm_name_is_alias", "error", None, "The farm's name is an alias: clients ask for another SPN",
            "%s resolves as an alias of %s (a CNAME record), so browsers ask the KDC for HTTP/%s, not for HTTP/%s; "
            "HTTP/%s is %s, so those clients fall back to NTLM or fail (as resolved on the controller)." % (
                name, canonical, canonical, name, canonical,
                "held by %s" % ", ".join(_label(a) for a in asked) if asked else "held by nobody"),
            "Make %s an A (host) record of the farm's address instead of a CNAME (Microsoft's advice for Kerberos), "
            "or register HTTP/%s on %s too, unless %s is a computer's own name (that breaks the computer's own HTTP "
            "services: use the A record)." % (
                name, canonical, ", ".join(sorted(wanted)) or "the farm's identity", canonical),
            name=name, canonical=canonical))
    return out
