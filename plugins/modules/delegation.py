#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: delegation
short_description: Kerberos delegation of one account - constrained, resource-based, or (warned) unconstrained
version_added: 0.1.0
description:
  - For a farm whose application calls onward as the user (seed 003), for example IIS to SQL Server.
    The farm's SPN must be on the shared pool identity (see M(webfarm.winauth.spn)); this module
    lets that identity delegate.
  - I(Constrained delegation), on the delegating account (the pool identity) -
    O(allowed_to_delegate_to) fills C(msDS-AllowedToDelegateTo) with the SPNs of the services it may
    reach as the user. O(protocol_transition) sets C(TRUSTED_TO_AUTH_FOR_DELEGATION) in
    C(userAccountControl) ("use any authentication protocol"), needed when users reach the site
    with NTLM, Basic or forms logon rather than Kerberos.
  - I(Resource-based constrained delegation) (RBCD), on the target account (the back-end service's
    account) - O(rbcd_principals) names the accounts allowed to delegate to it, stored as a security
    descriptor in C(msDS-AllowedToActOnBehalfOfOtherIdentity). It needs no domain-wide privilege and
    works across domains.
  - I(Unconstrained delegation) (C(TRUSTED_FOR_DELEGATION)) is only set with the explicit opt-in
    O(allow_unconstrained=true), and always warned about.
  - All changes of a task go to the account in one LDAP modify; a second run changes nothing.
author:
  - webfarm.winauth maintainers (@webfarm)
extends_documentation_fragment:
  - webfarm.winauth.ad
options:
  account:
    description:
      - The account whose delegation settings are managed, that is the delegating account for
        O(allowed_to_delegate_to), O(protocol_transition) and O(unconstrained); the target for
        O(rbcd_principals).
      - Named as sAMAccountName (C(cam-svc), C(SQL1$), a computer or (g)MSA also without C($)),
        C(DOMAIN\name), UPN, DN or SID.
    type: str
    required: true
  allowed_to_delegate_to:
    description:
      - SPNs of the services O(account) may obtain tickets for on behalf of users, such as
        C(MSSQLSvc/sql1.camtest.local:1433). Validated like M(webfarm.winauth.spn) validates SPNs.
      - Compared case-insensitively. Omit to leave the list as it is.
      - A warning names any SPN no account of the forest holds (one Global Catalog search).
    type: list
    elements: str
  protocol_transition:
    description:
      - V(true) lets O(account) delegate for users who did not log on with Kerberos (S4U2Self with
        a forwardable ticket; "use any authentication protocol" in the console). V(false) limits it
        to "Kerberos only". Omit to leave it as it is.
      - Set whatever O(state) is.
    type: bool
  unconstrained:
    description:
      - V(true) trusts O(account) for unconstrained delegation (C(TRUSTED_FOR_DELEGATION)); it needs
        O(allow_unconstrained=true). V(false) clears it. Omit to leave it as it is.
      - Set whatever O(state) is.
    type: bool
  allow_unconstrained:
    description:
      - The explicit opt-in O(unconstrained=true) needs. Any service ticket sent to an account trusted
        for unconstrained delegation carries the user's TGT, so whoever controls it can act as those
        users anywhere in the forest.
    type: bool
    default: false
  rbcd_principals:
    description:
      - Accounts allowed to delegate to O(account) (resource-based constrained delegation), named like
        O(account), in the domain of the connected DC. Omit to leave the attribute as it is.
      - Each gets an access-allowed ACE (C(CCDCLCSWRPWPDTLOCRSDRCWDWO), as Windows and Samba write it);
        the owner, other ACEs and their masks are kept. When no principal is left the attribute is
        cleared.
    type: list
    elements: str
  state:
    description:
      - How O(allowed_to_delegate_to) and O(rbcd_principals) apply.
      - V(present) adds the listed entries; V(absent) removes them; V(exact) makes each given list
        exactly the list (an empty list clears it).
    type: str
    choices: [present, absent, exact]
    default: present
attributes:
  check_mode:
    support: full
    description: Reads and predicts exactly; writes nothing.
  diff_mode:
    support: full
    description: The account's delegation settings, before and after, with principals by name.
  platform:
    support: full
    platforms: posix
    description: Runs where the task runs, usually the Ansible controller.
seealso:
  - module: webfarm.winauth.spn
  - module: webfarm.winauth.spn_info
notes:
  - Writing C(msDS-AllowedToDelegateTo) and the delegation flags needs the user right
    I(Enable computer and user accounts to be trusted for delegation) (SeEnableDelegationPrivilege)
    on the DCs besides write access to the account; RBCD only needs write access to the target.
  - Samba DCs refuse to write C(msDS-AllowedToActOnBehalfOfOtherIdentity) over LDAP (their schema
    marks it system-only); the module then fails without writing anything and says to use
    C(samba-tool delegation add-principal) on the DC. Windows DCs accept it.
  - Users who must never be delegated (administrators) should have C(Account is sensitive and cannot
    be delegated) set or be in the C(Protected Users) group; this module does not manage that.
"""

EXAMPLES = r"""
- name: The farm's pool identity may reach SQL Server as the user, whatever the user logged on with
  webfarm.winauth.delegation:
    account: cam-svc
    allowed_to_delegate_to:
      - MSSQLSvc/sql1.camtest.local:1433
      - MSSQLSvc/sql1.camtest.local
    protocol_transition: true
  delegate_to: localhost
  run_once: true

- name: Exactly these services, Kerberos only
  webfarm.winauth.delegation:
    account: cam-svc
    allowed_to_delegate_to: [MSSQLSvc/sql1.camtest.local:1433]
    protocol_transition: false
    state: exact
  delegate_to: localhost

- name: Resource-based - the back end's account lets the farm's identity delegate to it
  webfarm.winauth.delegation:
    account: SQL1$
    rbcd_principals: [cam-svc]
  delegate_to: localhost

- name: Remove every kind of delegation from an account
  webfarm.winauth.delegation:
    account: cam-svc
    allowed_to_delegate_to: []
    protocol_transition: false
    unconstrained: false
    state: exact
  delegate_to: localhost
"""

RETURN = r"""
dn:
  description: Distinguished name of the account.
  returned: success
  type: str
  sample: CN=cam-svc,OU=ServiceAccounts,DC=camtest,DC=local
sam_account_name:
  description: Its sAMAccountName.
  returned: success
  type: str
  sample: cam-svc
allowed_to_delegate_to:
  description: C(msDS-AllowedToDelegateTo) after the task (predicted in check mode).
  returned: success
  type: list
  elements: str
  sample: [MSSQLSvc/sql1.camtest.local:1433]
protocol_transition:
  description: Whether C(TRUSTED_TO_AUTH_FOR_DELEGATION) is set after the task.
  returned: success
  type: bool
unconstrained:
  description: Whether C(TRUSTED_FOR_DELEGATION) is set after the task.
  returned: success
  type: bool
user_account_control:
  description: C(userAccountControl) after the task.
  returned: success
  type: int
  sample: 16843264
rbcd_principals:
  description: The principals allowed to delegate to the account after the task.
  returned: success
  type: list
  elements: dict
  contains:
    sid:
      description: The principal's SID.
      type: str
      sample: S-1-5-21-3144985026-3175432055-1497275805-1102
    name:
      description: Its sAMAccountName, or C(null) when no object of the domain has that SID.
      type: str
      sample: cam-svc
    dn:
      description: Its distinguished name, or C(null).
      type: str
      sample: CN=cam-svc,OU=ServiceAccounts,DC=camtest,DC=local
before:
  description:
    - The account's delegation settings before the task (with or without C(--diff)), what a rollback writes back.
  returned: success
  type: dict
  contains:
    allowed_to_delegate_to:
      description: C(msDS-AllowedToDelegateTo) before the task.
      type: list
      elements: str
    protocol_transition:
      description: Whether protocol transition (TRUSTED_TO_AUTH_FOR_DELEGATION) was set.
      type: bool
    unconstrained:
      description: Whether unconstrained delegation (TRUSTED_FOR_DELEGATION) was set.
      type: bool
    user_account_control:
      description: C(userAccountControl) before the task.
      type: int
    rbcd_sids:
      description: The SIDs C(msDS-AllowedToActOnBehalfOfOtherIdentity) allowed before the task.
      type: list
      elements: str
  sample:
    allowed_to_delegate_to: []
    protocol_transition: false
    unconstrained: false
    user_account_control: 66048
    rbcd_sids: []
"""

from ansible_collections.webfarm.winauth.plugins.module_utils._directory.delegation import (  # noqa: E402
    DelegationTask,
    ensure_delegation,
)
from ansible_collections.webfarm.winauth.plugins.module_utils._directory.module import ADModule  # noqa: E402
from ansible_collections.webfarm.winauth.plugins.module_utils._windows.errors import (  # noqa: E402
    WinauthError,
    fail_module,
)


def main() -> None:
    module = ADModule(
        argument_spec={
            "account": {"type": "str", "required": True},
            "allowed_to_delegate_to": {"type": "list", "elements": "str"},
            "protocol_transition": {"type": "bool"},
            "unconstrained": {"type": "bool"},
            "allow_unconstrained": {"type": "bool", "default": False},
            "rbcd_principals": {"type": "list", "elements": "str"},
            "state": {"type": "str", "default": "present", "choices": ["present", "absent", "exact"]},
        },
    )
    task = DelegationTask(**{name: module.params[name] for name in (
        "account", "allowed_to_delegate_to", "protocol_transition", "unconstrained", "allow_unconstrained",
        "rbcd_principals", "state")})
    try:
        request = task.request()  # every input error, before any network traffic
    except WinauthError as exc:
        fail_module(module, exc)
    module.run(lambda conn: ensure_delegation(conn, task, request, module.check_mode))


if __name__ == "__main__":
    main()
