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
"""

from __future__ import annotations

import typing as t

from ansible_collections.webfarm.winauth.plugins.module_utils._directory.encryption_rules import (
    AES,
    CVE,
    RC4,
    SUPPORTED_ENCRYPTION_TYPES,
    describe,
)
from ansible_collections.webfarm.winauth.plugins.plugin_utils._verify.audit.findings import finding


def identity_rules(directory: dict[str, t.Any]) -> list[dict[str, t.Any]]:
    """Findings on each pool identity of the directory view (computer accounts are left to their own policy)."""
    out = []
    for account in sorted(directory.get("accounts", {}).values(), key=lambda a: str(a.get("sam") or "").lower()):
        value = account.get("supported_encryption_types")
        if account.get("is_computer") or not value or not value & RC4:
            continue
        label = "%s\\%s" % (directory.get("netbios") or "", account.get("sam")) if directory.get("netbios") \
            else str(account.get("sam"))
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
