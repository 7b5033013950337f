# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""Finding a domain controller when no server is given: the domain to look in, then DNS (RFC 2782 SRV)."""

from __future__ import annotations

import socket
import typing as t

from ansible_collections.webfarm.winauth.plugins.module_utils._directory.options import ConnectionOptions
from ansible_collections.webfarm.winauth.plugins.module_utils._windows.credentials import cached_principal
from ansible_collections.webfarm.winauth.plugins.module_utils._windows.errors import Unreachable


def discovery_domain(options: ConnectionOptions) -> str | None:
    """The domain to discover a DC in: ``domain``, the realm of ``username``, or of the cached Kerberos ticket."""
    if options.domain:
        return options.domain
    if options.username and "@" in options.username:
        return options.username.rsplit("@", 1)[1]
    if options.auth == "kerberos":
        principal = cached_principal()
        return principal.rsplit("@", 1)[1] if principal and "@" in principal else None
    return None


def order_srv_records(records: t.Iterable[tuple[int, int, int, str]]) -> list[tuple[str, int]]:
    """Order SRV answers (priority, weight, port, target) as RFC 2782 clients should.

    Lowest priority first; within a priority, heavier weights first (a
    deterministic stand-in for the weighted random pick, so runs are repeatable).
    """
    ordered = sorted(records, key=lambda r: (r[0], -r[1], r[3]))
    return [(target.rstrip("."), port) for _prio, _weight, port, target in ordered]


def discover_servers(domain: str) -> list[str]:
    """Candidate DCs for a domain: SRV records first, then the domain's own address records."""
    candidates: list[str] = []
    try:
        import dns.resolver  # pylint: disable=import-outside-toplevel

        answers = dns.resolver.resolve("_ldap._tcp.dc._msdcs.%s" % domain, "SRV", lifetime=5)
        candidates = [host for host, _port in order_srv_records(
            (r.priority, r.weight, r.port, str(r.target)) for r in answers)]
    except Exception:  # pylint: disable=broad-except  # no dnspython, no record, no answer: the fallback below
        candidates = []
    if not candidates:
        try:
            socket.getaddrinfo(domain, None)
            candidates = [domain]
        except socket.gaierror:
            pass
    if not candidates:
        raise Unreachable("no domain controller found for %s: DNS has neither the SRV record _ldap._tcp.dc._msdcs.%s "
                          "nor an address for %s; set server (or WINAUTH_AD_SERVER) to a DC's name"
                          % (domain, domain, domain))
    return candidates
