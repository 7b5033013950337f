# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""msDS-SupportedEncryptionTypes in the directory: the read, the one write, and the engine of
webfarm.winauth.kerberos_encryption (the decisions are in ``encryption_rules``)."""

from __future__ import annotations

from dataclasses import dataclass

from ansible_collections.webfarm.winauth.plugins.module_utils._directory.encryption_rules import (
    DEFAULT_CHOICES,
    SUPPORTED_ENCRYPTION_TYPES,
    encryption_warnings,
    flag_names,
    parse_choices,
    plan_encryption,
    render,
)
from ansible_collections.webfarm.winauth.plugins.module_utils._directory.objects import find_object, parse_identity
from ansible_collections.webfarm.winauth.plugins.module_utils._directory.operations import Directory
from ansible_collections.webfarm.winauth.plugins.module_utils._directory.outcome import Outcome
from ansible_collections.webfarm.winauth.plugins.module_utils._directory.spn import ACCOUNT_ATTRIBUTES
from ansible_collections.webfarm.winauth.plugins.module_utils._directory.spn_rules import account_from_entry
from ansible_collections.webfarm.winauth.plugins.module_utils._windows.errors import InvalidInput


@dataclass
class EncryptionTask:
    """The kerberos_encryption module's options, checked before any network traffic."""

    account: str
    encryption_types: list[str] | None = None
    state: str = "present"

    def ciphers(self) -> int | None:
        """The cipher bits asked for (None: clear the attribute); InvalidInput for every input error."""
        try:
            parse_identity(self.account)
        except InvalidInput as exc:
            raise InvalidInput("account: %s" % exc) from None
        if self.state == "absent":
            if self.encryption_types is not None:
                raise InvalidInput("encryption_types=%s with state=absent: absent clears the attribute (the KDC's "
                                   "default applies); leave encryption_types out, or use state=present"
                                   % self.encryption_types)
            return None
        return parse_choices(list(DEFAULT_CHOICES) if self.encryption_types is None else self.encryption_types)


def ensure_encryption(conn: Directory, task: EncryptionTask, ciphers: int | None, check_mode: bool) -> Outcome:
    """Read the account's attribute, plan it, write it (one atomic swap, or a delete by value) unless check_mode."""
    entry = find_object(conn, task.account, list(ACCOUNT_ATTRIBUTES) + [SUPPORTED_ENCRYPTION_TYPES],
                        parameter="account")
    account = account_from_entry(entry)
    if "user" not in {c.lower() for c in account.object_classes}:
        raise InvalidInput("account=%s is a %s (%s), not an account: Kerberos encryption types are set on users, "
                           "computers and (group) managed service accounts" % (task.account, account.kind, account.dn))
    current = entry.integer(SUPPORTED_ENCRYPTION_TYPES)
    plan = plan_encryption(account.dn, current, ciphers)
    if plan.changed and not check_mode:
        conn.swap(account.dn, SUPPORTED_ENCRYPTION_TYPES, None if current is None else str(current),
                  None if plan.after is None else str(plan.after))
    return Outcome(
        changed=plan.changed,
        warnings=encryption_warnings(plan, account.label, account.is_computer),
        diff={"before": render(account.dn, plan.before), "after": render(account.dn, plan.after)},
        result={"dn": account.dn, "sam_account_name": account.sam_account_name,
                "supported_encryption_types": plan.after, "flags": flag_names(plan.after),
                "previous_flags": flag_names(plan.before), "supported_encryption_types_before": plan.before,
                "object_sid": account.sid})
