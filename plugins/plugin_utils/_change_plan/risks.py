# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""The risks the collection knows about its changes, each once: a short title and what it means.

Texts are the same for every node (no host name in them), so the plan lists each risk once with
the nodes it concerns. ``%(name)s`` fields are filled from the change (the SPN, the account).
"""

from __future__ import annotations

import typing as t


class Risk(t.NamedTuple):
    title: str
    text: str

    def of(self, **facts: t.Any) -> "Risk":
        return Risk(self.title % facts, self.text % facts)


POOL_RESTART = Risk(
    "Short outage on each node",
    "the application pool restarts: requests in flight fail and new ones wait for the new worker process; drain "
    "the node at the load balancer first, or run the play one node at a time (serial)")
DOMAIN_IDENTITY = Risk(
    "The pool depends on a domain account",
    "the account needs \"Log on as a batch job\" on the node (without it the pool cannot start and the site "
    "answers 503), and an expired, changed or locked-out password stops the pool")
APP_POOL_CREDENTIALS_ON = Risk(
    "Tickets decrypted with the pool account's key",
    "useAppPoolCredentials on: the site's HTTP SPN must be on the pool account, not on the computer; a ticket for "
    "an SPN held elsewhere fails and clients fall back to NTLM or get 401")
APP_POOL_CREDENTIALS_OFF = Risk(
    "Tickets decrypted with the computer's key",
    "useAppPoolCredentials off: with kernel-mode authentication, an SPN on the shared pool account no longer works "
    "for this node (401, or NTLM)")
KERNEL_MODE_OFF = Risk(
    "Authentication moves to the worker process",
    "kernel-mode authentication off: the pool identity's key decrypts the tickets, not HTTP.sys with the "
    "computer's; the SPN must be on the pool account")
KERNEL_MODE_ON = Risk(
    "HTTP.sys decrypts tickets with the computer's key",
    "kernel-mode authentication on, unless useAppPoolCredentials is true: an SPN on a domain pool account then "
    "fails (401, or NTLM)")
AUTHENTICATE_ALL = Risk(
    "Anonymous access ends",
    "every request must authenticate: monitors and load-balancer health checks that expect 200 from this location "
    "get 401")
PERSIST_SINGLE_REQUEST = Risk(
    "ARR content servers authenticate every request",
    "authPersistSingleRequest: one more 401 round trip per request through ARR, and more load on the domain "
    "controllers for NTLM; it is what keeps ARR, which sends many clients' requests over one back-end connection, "
    "from serving a request under the identity of the user who authenticated the connection before")
NO_NEGOTIATE = Risk(
    "No Kerberos",
    "Negotiate is no longer a provider: NTLM only for this location, and no delegation")
ARR_PROXY = Risk(
    "ARR's proxy switch is server-wide",
    "every global rewrite rule of the server that routes to a farm starts (or stops) forwarding")
SPN_MOVE = Risk(
    "%(holder)s loses Kerberos for %(spn)s",
    "the KDC encrypts tickets for %(spn)s with %(account)s's key from now on: a service that still runs as "
    "%(holder)s for that name can no longer decrypt them (clients fall back to NTLM or get 401), and clients that "
    "cached a ticket keep using it until it expires or they run klist purge")
SPN_REMOVE = Risk(
    "No ticket for %(spn)s",
    "clients asking for %(spn)s get no ticket (KDC_ERR_S_PRINCIPAL_UNKNOWN) and fall back to NTLM, or fail where "
    "NTLM is off")
DELEGATION = Risk(
    "%(account)s may act as the farm's users",
    "towards %(targets)s: whoever holds the account's password can too")
PROTOCOL_TRANSITION = Risk(
    "Delegation without the user's Kerberos logon",
    "protocol transition: %(account)s can obtain tickets to its delegation targets for any user, without that "
    "user signing in with Kerberos (S4U2Self)")
UNCONSTRAINED = Risk(
    "Unconstrained delegation",
    "every ticket sent to %(account)s carries the user's TGT, usable against any service of the forest")
RIGHT_REPLACES = Risk(
    "The GPO replaces the nodes' local list of %(right)s",
    "an account that is not listed (another pool's identity, a local service account) loses the right and its "
    "pool or scheduled task no longer starts")
GPO_LINK = Risk(
    "The GPO reaches every computer under the link",
    "it applies to every computer under %(target)s at its next policy refresh (about every 90 minutes, or "
    "gpupdate /force), not only to the farm's nodes")
OUT_OF_SCOPE = Risk(
    "%(computer)s is outside the GPO's scope",
    "the right never reaches it, and a pool running as the farm's account there answers 503%(blocked)s")
RIGHT_NOT_EFFECTIVE = Risk(
    "503 until the right is effective",
    "%(accounts)s %(verb)s not hold %(right)s on the node yet: until domain policy grants it there, the pool "
    "cannot start a worker process and the site answers 503 (the role runs gpupdate /force and checks the right "
    "before it restarts the pool)")
GPUPDATE = Risk(
    "gpupdate /force applies all pending policy",
    "every pending policy of the domain reaches the node, not only this GPO; some ask for a restart or log off")
