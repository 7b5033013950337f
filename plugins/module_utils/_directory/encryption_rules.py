# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""msDS-SupportedEncryptionTypes of one account: the flags by name, the plan, diff and warnings. Pure logic, no I/O.

The attribute tells the KDC which ciphers a service ticket for the account may use ([MS-KILE] 2.2.7).
Unset (or 0), the KDC's default applies: RC4 on DCs before the January 2026 updates, AES only on DCs
that enforce CVE-2026-20833 (KB5073381). The module manages the cipher bits (DES, RC4, AES128, AES256)
and keeps every other bit (AES session keys, FAST, claims, compound identity) as it is.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

from ansible_collections.webfarm.winauth.plugins.module_utils._windows.errors import InvalidInput

SUPPORTED_ENCRYPTION_TYPES = "msDS-SupportedEncryptionTypes"
CVE = "CVE-2026-20833"

# [MS-KILE] 2.2.7 Supported Encryption Types Bit Flags, in bit order.
FLAGS: tuple[tuple[int, str], ...] = (
    (0x1, "DES-CBC-CRC"),
    (0x2, "DES-CBC-MD5"),
    (0x4, "RC4-HMAC"),
    (0x8, "AES128-CTS-HMAC-SHA1-96"),
    (0x10, "AES256-CTS-HMAC-SHA1-96"),
    (0x20, "AES256-CTS-HMAC-SHA1-96-SK"),
    (0x10000, "FAST-supported"),
    (0x20000, "Compound-identity-supported"),
    (0x40000, "Claims-supported"),
    (0x80000, "Resource-SID-compression-disabled"),
)
CHOICES = {"aes128": 0x8, "aes256": 0x10, "rc4": 0x4}
DEFAULT_CHOICES = ("aes128", "aes256")
CIPHER_BITS = 0x1 | 0x2 | 0x4 | 0x8 | 0x10      # what the module manages; every other bit is kept
RC4 = 0x4
AES = 0x8 | 0x10


def flag_names(value: int | None) -> list[str]:
    """The flags of a value by name, unknown bits as hex; [] for None or 0."""
    if not value:
        return []
    names = [name for bit, name in FLAGS if value & bit]
    unknown = value & ~sum(bit for bit, _name in FLAGS)
    return names + (["0x%x" % unknown] if unknown else [])


def describe(value: int | None) -> str:
    """``0x18 (AES128-CTS-HMAC-SHA1-96, AES256-CTS-HMAC-SHA1-96)``, or what "not set" means."""
    if not value:
        return "not set (%s): the KDC's default applies (DefaultDomainSupportedEncTypes)" % (
            "0" if value == 0 else "absent")
    return "0x%x (%s)" % (value, ", ".join(flag_names(value)))


def parse_choices(values: t.Sequence[str]) -> int:
    """The cipher bits of the module's encryption_types; InvalidInput naming the parameter otherwise."""
    if not values:
        raise InvalidInput("encryption_types=[] would leave the account without a cipher: give aes128 and/or aes256 "
                           "(the default), or leave the option out")
    bits = 0
    for value in values:
        key = str(value).strip().lower()
        if key not in CHOICES:
            raise InvalidInput("encryption_types: %r is not one of %s; DES is never set (Windows has not used it "
                               "since Server 2008 R2)" % (value, ", ".join(sorted(CHOICES))))
        bits |= CHOICES[key]
    return bits


@dataclass
class EncryptionPlan:
    """The attribute before and after the task (None: absent)."""

    dn: str
    before: int | None
    after: int | None

    @property
    def changed(self) -> bool:
        return self.before != self.after


def plan_encryption(dn: str, current: int | None, ciphers: int | None) -> EncryptionPlan:
    """The wanted cipher bits, every other bit of the current value kept; ``ciphers`` None clears the attribute."""
    if ciphers is None:
        return EncryptionPlan(dn=dn, before=current, after=None)
    kept = (current or 0) & ~CIPHER_BITS
    return EncryptionPlan(dn=dn, before=current, after=kept | ciphers)


def render(dn: str, value: int | None) -> str:
    """One account's attribute for the diff, flags by name."""
    return "%s\n%s: %s\n" % (dn, SUPPORTED_ENCRYPTION_TYPES, describe(value))


def encryption_warnings(plan: EncryptionPlan, label: str, is_computer: bool) -> list[str]:
    """RC4 chosen (always warned, it is a Kerberoasting target), and a computer account's own rewrite."""
    warnings = []
    if plan.after is None and plan.changed:
        warnings.append(
            "%s has no %s any more: the KDC's default applies to it (DefaultDomainSupportedEncTypes): RC4 on domain "
            "controllers before the January 2026 updates, AES only on those that enforce %s (KB5073381); its other "
            "flags (%s) went with it" % (label, SUPPORTED_ENCRYPTION_TYPES, CVE,
                                         ", ".join(flag_names((plan.before or 0) & ~CIPHER_BITS)) or "none"))
    if (plan.after or 0) & RC4:
        only = "" if (plan.after or 0) & AES else " and only RC4"
        warnings.append(
            "%s allows RC4%s: service tickets for it may be RC4-encrypted, which can be cracked offline from any "
            "ticket a domain user requests (Kerberoasting). Windows DCs updated for %s (KB5073381) issue RC4 "
            "only to accounts that allow it explicitly like this; remove rc4 from encryption_types once every client "
            "and the account's keys support AES" % (label, only, CVE))
    if is_computer and plan.after is not None:
        warnings.append(
            "%s is a computer account: a Windows computer writes its own %s from its policy (Network security: "
            "Configure encryption types allowed for Kerberos) and may overwrite this value; set that policy instead"
            % (label, SUPPORTED_ENCRYPTION_TYPES))
    return warnings
