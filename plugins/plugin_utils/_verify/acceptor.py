# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""The acceptor side of Windows authentication on IIS: whose keys decrypt a site's Kerberos tickets,
which account a pool runs as, and which authentication outlives its request. Pure logic, no I/O.

The collection's central Kerberos rule lives here once: **kernel-mode authentication without
useAppPoolCredentials decrypts with the computer account**; otherwise the worker process decrypts
as the pool identity (a machine identity is the computer account on the network, a local account
has no Kerberos keys). web_auth's and app_pool's warnings, farm_audit and the lab's web endpoint
all ask this module.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

# Pool identities that act on the network as the computer account.
MACHINE_IDENTITIES = ("ApplicationPoolIdentity", "NetworkService", "LocalSystem")


def offers_kerberos(providers: t.Iterable[str]) -> bool:
    """Whether the providers offer Kerberos at all (Negotiate or Negotiate:Kerberos; NTLM-only mode does not)."""
    return any(str(p).lower().startswith("negotiate") for p in providers)


def is_domain_identity(identity_type: str | None, username: str | None) -> bool:
    """Whether a pool identity is an account of its own (a domain user or gMSA), not the machine's.

    ``DOMAIN\\user``, ``user@domain`` and ``name$`` count; ``.\\user`` and a bare ``user`` are local.
    """
    if str(identity_type or "").lower() != "specificuser" or not username:
        return False
    if "@" in username:
        return True
    if "\\" in username:
        return username.split("\\", 1)[0] not in (".", "")
    return username.endswith("$")


def is_machine_identity(identity_type: str | None) -> bool:
    return str(identity_type or "").lower() in {m.lower() for m in MACHINE_IDENTITIES}


def account_name(username: str) -> str:
    """``CAMTEST\\cam-svc`` / ``cam-svc@camtest.local`` -> ``cam-svc``: the sAMAccountName, as spelled."""
    if "\\" in username:
        return username.split("\\", 1)[1]
    return username.split("@", 1)[0]


def identity_label(identity_type: str | None, username: str | None, pool_name: str = "") -> str:
    """Who a pool runs as, as IIS Manager shows it (``IIS APPPOOL\\<pool>`` for the pool identity)."""
    if str(identity_type or "").lower() == "specificuser":
        return str(username or "(no user name)")
    if str(identity_type or "").lower() == "applicationpoolidentity":
        return "IIS APPPOOL\\%s" % pool_name if pool_name else "ApplicationPoolIdentity"
    return str(identity_type)


def kernel_mode_decrypts(use_kernel_mode: bool, use_app_pool_credentials: bool) -> bool:
    """HTTP.sys (kernel mode) decrypts Kerberos tickets as the machine unless useAppPoolCredentials is true."""
    return bool(use_kernel_mode) and not use_app_pool_credentials


def machine_decrypts(use_kernel_mode: bool, use_app_pool_credentials: bool, providers: t.Sequence[str]) -> bool:
    """True when Kerberos tickets would be decrypted with the computer account's keys, not the pool identity's.

    NTLM-only providers involve no Kerberos ticket at all.
    """
    return offers_kerberos(providers) and kernel_mode_decrypts(use_kernel_mode, use_app_pool_credentials)


@dataclass(frozen=True)
class KeySource:
    """Whose Kerberos keys decrypt service tickets at a location, and why.

    ``account`` is a sAMAccountName: ``SERVER1$`` for the computer, the pool identity's account as spelled in
    its user name (``cam-svc``), or "" when no account's keys can (a missing pool, a local account).
    """

    account: str
    reason: str

    @property
    def key(self) -> str:
        """The account as directories compare it (lower case)."""
        return self.account.lower()


def decrypting_account(use_kernel_mode: bool, use_app_pool_credentials: bool, identity_type: str | None,
                       username: str | None, computer: str) -> KeySource:
    """Whose keys decrypt: the rule of the module docstring. ``identity_type`` None: the pool does not exist."""
    machine = "%s$" % computer.upper()
    if kernel_mode_decrypts(use_kernel_mode, use_app_pool_credentials):
        return KeySource(machine, "kernel-mode authentication without useAppPoolCredentials decrypts with the "
                                  "computer account")
    if identity_type is None:
        return KeySource("", "the application's pool does not exist")
    if is_machine_identity(identity_type):
        return KeySource(machine, "the pool runs as %s, the computer account on the network" % identity_type)
    if is_domain_identity(identity_type, username):
        mode = "useAppPoolCredentials=true" if use_kernel_mode else "user-mode authentication"
        return KeySource(account_name(str(username)), "%s decrypts with the pool identity %s" % (mode, username))
    return KeySource("", "the pool runs as %s, an account without Kerberos keys" % (username or identity_type))


def connection_identity_risk(providers: t.Sequence[str], auth_persist_single_request: bool,
                             auth_persist_non_ntlm: bool) -> str:
    """Which authentication IIS keeps for the rest of a connection after one request ("" when none).

    IIS authenticates NTLM once per TCP connection unless ``authPersistSingleRequest`` is true, and
    Kerberos once per connection when ``authPersistNonNTLM`` is true (and ``authPersistSingleRequest``
    false). Behind a proxy that sends many clients' requests over one back-end connection (ARR's
    connection pool), a kept authentication serves later requests of other clients as that user.
    ``Negotiate`` falls back to NTLM, so it counts as NTLM; ``Negotiate:Kerberos`` does not.
    """
    if auth_persist_single_request:
        return ""
    names = [str(p).lower() for p in providers]
    ntlm = "ntlm" in names or "negotiate" in names
    kept = []
    if ntlm:
        kept.append("NTLM (authPersistSingleRequest=false)")
    if offers_kerberos(names) and auth_persist_non_ntlm:
        kept.append("Kerberos (authPersistNonNTLM=true)")
    return " and ".join(kept)
