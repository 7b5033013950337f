# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""The engine of webfarm.winauth.password_check: read the account and its lockout policy, then one AS exchange.

Reads (LDAP, through the one Directory): the account's ``userAccountControl``, the constructed
``msDS-User-Account-Control-Computed`` (locked out, password expired), ``badPwdCount``,
``badPasswordTime`` and ``msDS-ResultantPSO``; the lockout threshold and observation window of that
password settings object, else of the domain. The rules (``password_rules``) decide whether to try; the
attempt is the credential factory's (``Credential.prove_password``): one Kerberos AS exchange from this
host, the ticket kept in memory only. Nothing is written; a wrong password is one bad attempt on the DC.
"""

from __future__ import annotations

import time
import typing as t

from ansible_collections.webfarm.winauth.plugins.module_utils._directory import password_rules as R
from ansible_collections.webfarm.winauth.plugins.module_utils._directory.objects import find_object, netbios_name
from ansible_collections.webfarm.winauth.plugins.module_utils._directory.operations import Directory
from ansible_collections.webfarm.winauth.plugins.module_utils._directory.outcome import Outcome
from ansible_collections.webfarm.winauth.plugins.module_utils._windows.credentials import Credential, PasswordRefused
from ansible_collections.webfarm.winauth.plugins.module_utils._windows.errors import InvalidInput

ACCOUNT_ATTRIBUTES = ("userAccountControl", "msDS-User-Account-Control-Computed", "badPwdCount", "badPasswordTime",
                      "msDS-ResultantPSO")


def read_account(conn: Directory, name: str, parameter: str = "account") -> tuple[R.AccountState, str]:
    """The account's lockout state and policy, and its Kerberos principal (sAMAccountName@REALM)."""
    entry = find_object(conn, name, ACCOUNT_ATTRIBUTES, parameter=parameter)
    sam = entry.text("sAMAccountName") or name
    classes = {c.lower() for c in entry.object_classes}
    if classes & {"msds-groupmanagedserviceaccount", "msds-managedserviceaccount"}:
        raise InvalidInput("%s=%s is a managed service account: Windows fetches its password itself, there is none "
                           "to prove. Fix: leave password_check out for a gMSA" % (parameter, name))
    state = R.AccountState(
        name="%s\\%s" % (netbios_name(conn) or conn.info.dns_domain.upper(), sam),
        user_account_control=entry.integer("userAccountControl") or 0,
        computed_control=entry.integer("msDS-User-Account-Control-Computed") or 0,
        bad_password_count=entry.integer("badPwdCount") or 0,
        bad_password_time=entry.integer("badPasswordTime") or 0)
    pso = entry.text("msDS-ResultantPSO")
    policy = conn.read(pso, ["msDS-LockoutThreshold", "msDS-LockoutObservationWindow"]) if pso else None
    if policy is not None:
        state.lockout_threshold = policy.integer("msDS-LockoutThreshold") or 0
        state.observation_window = R.interval(policy.integer("msDS-LockoutObservationWindow"))
        state.policy = "password settings object %s" % pso
    else:
        domain = conn.read(conn.info.default_naming_context, ["lockoutThreshold", "lockOutObservationWindow"])
        if domain is not None:
            state.lockout_threshold = domain.integer("lockoutThreshold") or 0
            state.observation_window = R.interval(domain.integer("lockOutObservationWindow"))
    return state, "%s@%s" % (sam, conn.info.dns_domain.upper())


def check_password(conn: Directory, name: str, password: str, parameter: str = "password",
                   clock: t.Callable[[], float] = time.time) -> Outcome:
    """Refuse or try once; the Outcome never holds the password. Raises AccountUnusable or AttemptRefused."""
    if not password:
        raise InvalidInput("%s is empty: there is no password to prove for %s. Fix: give the account's password"
                           % (parameter, name))
    state, principal = read_account(conn, name)
    R.guard(state, R.filetime(clock()))
    try:
        Credential(protocol="kerberos", username=principal, password=password).prove_password()
    except PasswordRefused as exc:
        after, _principal = read_account(conn, name)
        count = (" (%s now has %d failed logon(s)%s)"
                 % (after.name, after.bad_password_count,
                    " of the %d that lock it" % after.lockout_threshold if after.lockout_threshold else ""))
        raise R.AccountUnusable(R.refused(state.name, exc.reason, str(exc), parameter) + count,
                                task_result={"account": R.result_of(after, R.filetime(clock()))}) from None
    return Outcome(changed=False, result={"account": R.result_of(state, R.filetime(clock())), "proven": True,
                                          "principal": principal})
