# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""LDAP result codes (RFC 4511 appendix A) and what Active Directory adds to them. Pure data, no I/O.

A result is ldap3's dict: ``result`` (the code), ``description``, ``message`` (the DC's diagnostic
text, where AD puts its own codes such as ``data 52e`` or ``0000202F``).
"""

from __future__ import annotations

import typing as t

SUCCESS = 0
STRONGER_AUTH_REQUIRED = 8
REFERRAL = 10
SASL_BIND_IN_PROGRESS = 14
NO_SUCH_ATTRIBUTE = 16
CONSTRAINT_VIOLATION = 19
ATTRIBUTE_OR_VALUE_EXISTS = 20
NO_SUCH_OBJECT = 32
INVALID_CREDENTIALS = 49
INSUFFICIENT_ACCESS = 50
UNWILLING_TO_PERFORM = 53
ENTRY_ALREADY_EXISTS = 68

# The sub-codes AD puts in "data XXX" of an invalidCredentials bind.
AD_BIND_SUBCODES = {
    "525": "the user does not exist",
    "52e": "the username or password is wrong",
    "530": "the account may not log on at this time",
    "531": "the account may not log on from this workstation",
    "532": "the password has expired",
    "533": "the account is disabled",
    "701": "the account has expired",
    "773": "the password must be changed before the first logon",
    "775": "the account is locked out",
}


def code_of(result: dict[str, t.Any] | None) -> int | None:
    return (result or {}).get("result")


def message_of(result: dict[str, t.Any] | None) -> str:
    return str((result or {}).get("message") or "").strip()


def is_duplicate_spn_refusal(result: dict[str, t.Any] | None) -> bool:
    """The DC refused an SPN add because another account holds it (Samba 0000202F, Windows 000021C7)."""
    if code_of(result) != CONSTRAINT_VIOLATION:
        return False
    message = message_of(result).lower()
    return "000021c7" in message or ("0000202f" in message and "spn" in message and "conflict" in message)


def is_system_only_refusal(result: dict[str, t.Any] | None) -> bool:
    """Samba refuses writes of attributes its schema marks systemOnly (e.g. RBCD before Samba 4.19 or so)."""
    return code_of(result) == CONSTRAINT_VIOLATION and "only be modified as system" in message_of(result).lower()
