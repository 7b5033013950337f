# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""Whether a password may be tried for an account, and what the KDC's answer means (pure rules, no I/O).

A wrong password costs one bad attempt (``badPwdCount``); at the lockout threshold the account locks
and every node that runs a pool as it fails. So before one AS exchange: a disabled, locked-out or
expired account is named and nothing is tried, and when one more failure could reach the threshold
(the count the DC holds now, unless the observation window since the last bad attempt has passed) the
attempt is refused too.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

from ansible_collections.webfarm.winauth.plugins.module_utils._windows.errors import BindRefused, InvalidInput

UF_ACCOUNTDISABLE = 0x0002
UF_LOCKOUT = 0x0010                 # msDS-User-Account-Control-Computed
UF_PASSWORD_EXPIRED = 0x00800000    # msDS-User-Account-Control-Computed
TICKS_PER_SECOND = 10_000_000       # FILETIME / AD intervals: 100 ns
FILETIME_UNIX_EPOCH = 116444736000000000


class AccountUnusable(BindRefused):
    """The account cannot log on (disabled, locked out, password expired, wrong password): nothing was pushed."""


class AttemptRefused(InvalidInput):
    """One more failed attempt could lock the account: the password was not tried."""


@dataclass
class AccountState:
    """What the DC says about an account and its lockout policy, as read before any attempt."""

    name: str
    user_account_control: int = 0
    computed_control: int = 0
    bad_password_count: int = 0
    bad_password_time: int = 0          # FILETIME of the last bad attempt, 0 for none
    lockout_threshold: int = 0          # 0: the domain never locks accounts
    observation_window: int = 0         # in 100 ns intervals (AD stores it negative; here positive)
    policy: str = "the domain's password policy"


def filetime(unix_seconds: float) -> int:
    return int(unix_seconds * TICKS_PER_SECOND) + FILETIME_UNIX_EPOCH


def interval(value: int | None) -> int:
    """An AD duration (negative 100 ns intervals; the minimum value means never) as a positive count."""
    if not value:
        return 0
    return abs(value) if value != -(2 ** 63) else 2 ** 63 - 1


def effective_bad_count(state: AccountState, now: int) -> int:
    """The count the next failure adds to: 0 once the observation window since the last bad attempt has passed."""
    window = state.observation_window
    if state.bad_password_time and window and now - state.bad_password_time >= window:
        return 0
    return state.bad_password_count


def unusable(state: AccountState) -> str | None:
    """One line when the account cannot log on whatever the password, else None."""
    if state.user_account_control & UF_ACCOUNTDISABLE:
        return ("account %s is disabled: no pool can run as it. Fix: enable it (Enable-ADAccount), then run again"
                % state.name)
    if state.computed_control & UF_LOCKOUT:
        return ("account %s is locked out: no pool can run as it until it is unlocked. Fix: unlock it "
                "(Unlock-ADAccount) and find what sent the wrong password, then run again" % state.name)
    if state.computed_control & UF_PASSWORD_EXPIRED:
        return ("the password of account %s has expired: every pool that runs as it fails to start. Fix: set a "
                "new password (and give it to the play), or clear 'must change password', then run again" % state.name)
    return None


def attempts_left(state: AccountState, now: int) -> int | None:
    """Failures the account can take before it locks (None: the policy never locks)."""
    if state.lockout_threshold <= 0:
        return None
    return max(state.lockout_threshold - effective_bad_count(state, now), 0)


def guard(state: AccountState, now: int) -> None:
    """Raise before any attempt when the account is unusable or one more failure could lock it."""
    reason = unusable(state)
    if reason:
        raise AccountUnusable(reason)
    left = attempts_left(state, now)
    if left is not None and left <= 1:
        raise AttemptRefused(
            "account %s has %d failed logon(s) of the %d that lock it (%s): one more wrong password would lock "
            "it, so the password was not tried. Fix: make sure of the password first (one logon with the right one "
            "resets the count), or wait until the lockout observation window has passed, then run again"
            % (state.name, effective_bad_count(state, now), state.lockout_threshold, state.policy))


def refused(name: str, reason: str, detail: str, parameter: str) -> str:
    """The one line for a KDC that refused the AS exchange (never the password itself)."""
    lines = {
        "wrong_password": "the password given as %s is not the password of %s (the KDC refused it: "
                          "preauthentication failed); nothing was pushed to any node. Fix: give the account's "
                          "current password" % (parameter, name),
        "revoked": "the KDC refuses logons of %s (disabled or locked out: client revoked); nothing was pushed. "
                   "Fix: enable or unlock the account" % name,
        "expired": "the password of %s has expired (the KDC says so); nothing was pushed. Fix: set a new password "
                   "and give it as %s" % (name, parameter),
        "unknown": "the KDC knows no principal %s; nothing was pushed. Fix: check the account name "
                   "(DOMAIN\\user or user@REALM)" % name,
    }
    return lines.get(reason, "proving the password of %s with Kerberos failed (%s); nothing was pushed. Fix: check "
                             "that the controller's krb5.conf reaches a KDC of the account's realm" % (name, detail))


def result_of(state: AccountState, now: int) -> dict[str, t.Any]:
    """The module's ``account`` result: what was read (no secret)."""
    return {"name": state.name, "bad_password_count": state.bad_password_count,
            "lockout_threshold": state.lockout_threshold, "attempts_left": attempts_left(state, now),
            "policy": state.policy}
