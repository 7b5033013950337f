# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""The farm audit's rules on the pool identities as the directory holds them. Pure logic, no I/O.

``identity_allows_rc4``: the identity's ``msDS-SupportedEncryptionTypes`` lets the KDC issue RC4 tickets for its
SPNs. Domain controllers updated for CVE-2026-20833 (KB5073381) keep issuing RC4 to accounts that allow it
explicitly, so such tickets stay crackable offline (Kerberoasting); with RC4 alone, clients that have RC4
switched off cannot get a ticket at all. The flag names and bits are those of ``encryption_rules``.

``identity_without_aes_keys``: the identity's password was last set before the domain made AES keys (before its
Read-only Domain Controllers group was created, Microsoft's test), so it has RC4 keys only: a KDC that issues AES
tickets only (2026) has none to give for its SPNs.
"""

from __future__ import annotations

import datetime
import typing as t

from ansible_collections.webfarm.winauth.plugins.module_utils._directory.encryption_rules import (
    AES,
    CVE,
    RC4,
    SUPPORTED_ENCRYPTION_TYPES,
    describe,
)
from ansible_collections.webfarm.winauth.plugins.plugin_utils._verify.audit.farm import account_label
from ansible_collections.webfarm.winauth.plugins.plugin_utils._verify.audit.findings import finding


_FILETIME_EPOCH = datetime.datetime(1601, 1, 1, tzinfo=datetime.timezone.utc)


def _from_filetime(value: t.Any) -> datetime.datetime | None:
    """pwdLastSet (100 ns since 1601); None for 0 (must change at next logon) and unset."""
    if not isinstance(value, int) or value <= 0 or value >= 0x7FFFFFFFFFFFFFFF:
        return None
    return _FILETIME_EPOCH + datetime.timedelta(microseconds=value // 10)


def _from_generalized(value: t.Any) -> datetime.datetime | None:
    """whenCreated (YYYYMMDDHHMMSS.0Z)."""
    try:
        return datetime.datetime.strptime(str(value)[:14], "%Y%m%d%H%M%S").replace(tzinfo=datetime.timezone.utc)
    except ValueError:
        return None


def _without_aes_keys(account: dict[str, t.Any], label: str, since: datetime.datetime | None) -> list[dict[str, t.Any]]:
    password_set = _from_filetime(account.get("pwd_last_set"))
    if account.get("kind") == "gMSA" or since is None or password_set is None or password_set >= since:
        return []
    value = account.get("supported_encryption_types")
    aes_only = not value or not value & RC4
    allowed = describe(value) if value else "not set: the 2026 default, AES only"
    consequence = ("with AES required (%s; msDS-SupportedEncryptionTypes %s) the KDC has no key to encrypt its "
                   "tickets with, and clients fall back to NTLM" % (CVE, allowed) if aes_only else
                   "its tickets are RC4 (Kerberoasting) and stop when RC4 is switched off")
    return [finding(
        "identity_without_aes_keys", "error" if aes_only else "warning", None,
        "The farm's identity has no AES keys",
        "The password of %s was last set on %s, before the domain made AES keys (its Read-only Domain Controllers "
        "group dates from %s): the account has RC4 keys only, so %s." % (
            label, password_set.strftime("%Y-%m-%d"), since.strftime("%Y-%m-%d"), consequence),
        "Set the password of %s once more (any domain controller since Windows Server 2008 then makes AES keys), "
        "then the pools' password (webfarm.winauth.app_pool update_password: always, or the farm role with the new "
        "password; webfarm.winauth.password_check proves it first)." % label,
        account=label, pwd_last_set=password_set.isoformat())]


def identity_rules(directory: dict[str, t.Any]) -> list[dict[str, t.Any]]:
    """Findings on each pool identity of the directory view (computer accounts are left to their own policy)."""
    out = []
    since = _from_generalized(directory.get("aes_keys_since"))
    for account in sorted(directory.get("accounts", {}).values(), key=lambda a: str(a.get("sam") or "").lower()):
        if account.get("is_computer"):
            continue
        label = account_label(directory, account)
        out += _without_aes_keys(account, label, since)
        value = account.get("supported_encryption_types")
        if not value or not value & RC4:
            continue
        only = not value & AES
        out.append(finding(
            "identity_allows_rc4", "error" if only else "warning", None,
            "The farm's identity %s RC4 tickets" % ("accepts only" if only else "allows"),
            "%s of %s is %s: the KDC issues RC4-encrypted tickets for its SPNs to any client that asks, and "
            "domain controllers updated for %s (KB5073381) keep doing so for an account that allows RC4 "
            "explicitly; such tickets can be cracked offline (Kerberoasting)%s." % (
                SUPPORTED_ENCRYPTION_TYPES, label, describe(value), CVE,
                "; with RC4 alone, a client that has RC4 switched off gets no ticket and falls back to NTLM"
                if only else ""),
            "Allow AES only: webfarm.winauth.kerberos_encryption with account: %s (the lb_farm and arr_farm roles "
            "do it by default); set the account's password once more first if it predates AES keys." % label,
            account=label, supported_encryption_types=value))
    return out
