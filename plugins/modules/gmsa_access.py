#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: gmsa_access
short_description: Which computers may retrieve a gMSA's password (msDS-GroupMSAMembership), checked or managed
version_added: 0.2.0
description:
  - A group managed service account (gMSA) has no password an administrator knows. Each node whose
    application pool runs as it asks a domain controller for the current password, and the DC answers only
    when the node's computer account is allowed by the security descriptor in C(msDS-GroupMSAMembership)
    (what C(Set-ADServiceAccount -PrincipalsAllowedToRetrieveManagedPassword) sets). A node that is not
    allowed cannot start the pool (HTTP 503 on that node).
  - With O(mode=verify) (the default) the module does what C(Test-ADServiceAccount) does on every node, from
    the controller and for all of them at once. It evaluates the descriptor for each principal's token (its own
    SID, its groups read transitively from C(tokenGroups), and the SIDs of every network logon), deny before
    allow, and fails naming the principals that may not retrieve the password and why. Nothing is written.
  - With O(mode=add) the principals that may not retrieve it yet get an allow entry; with O(mode=exact) the
    allowed principals are exactly O(principals). Other entries (deny entries, object entries) are kept.
    One LDAP modify that deletes the old value by value and adds the new one, so an edit made meanwhile by
    someone else is never overwritten silently (the task reads again and retries).
  - Group membership changes reach a node's token only at its next logon (a restart, or
    C(klist purge -li 0x3e7) for the machine's tickets). The check reads the directory, not the node's token.
author:
  - webfarm.winauth maintainers (@webfarm)
extends_documentation_fragment:
  - webfarm.winauth.ad
options:
  account:
    description:
      - The gMSA, as sAMAccountName (C(web-gmsa$)), C(DOMAIN\name$), DN or SID.
    type: str
    required: true
  principals:
    description:
      - The accounts that must be able to retrieve the password, usually the nodes' computer accounts
        (C(SERVER1$)), or groups of them.
      - Required (not empty) unless O(mode=exact), where V([]) removes every allow entry.
    type: list
    elements: str
    required: true
  mode:
    description:
      - V(verify) reads and fails when any of O(principals) may not retrieve the password; never writes.
      - V(add) allows those of O(principals) that may not retrieve it yet.
      - V(exact) makes O(principals) exactly the allowed principals.
    type: str
    choices: [verify, add, exact]
    default: verify
attributes:
  check_mode:
    support: full
    description: Reads and predicts exactly; writes nothing.
  diff_mode:
    support: full
    description: The descriptor's entries before and after, each principal by name.
  platform:
    support: full
    platforms: posix
    description: Runs where the task runs, usually the Ansible controller.
seealso:
  - module: webfarm.winauth.app_pool
  - module: webfarm.winauth.kerberos_encryption
  - name: Test-ADServiceAccount
    description: The check this module makes for every node at once.
    link: https://learn.microsoft.com/powershell/module/activedirectory/test-adserviceaccount
notes:
  - The lab's DC (Samba 4.17) stores gMSA objects and C(msDS-GroupMSAMembership) but cannot derive a gMSA's
    password (that came with Samba 4.20). What the lab shows is the directory side (the object, the attribute,
    the decision for each node's token). That a node then gets the password is not tested here.
"""

EXAMPLES = r"""
- name: Every node may retrieve the farm's gMSA password (fails naming those that may not)
  webfarm.winauth.gmsa_access:
    account: CAMTEST\web-gmsa$
    principals: [SERVER1$, SERVER2$]
  delegate_to: localhost
  run_once: true

- name: Allow the nodes that are missing (a group of them works too)
  webfarm.winauth.gmsa_access:
    account: web-gmsa$
    principals: [SERVER1$, SERVER2$]
    mode: add
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
dn:
  description: Distinguished name of the gMSA.
  returned: always when the gMSA was found
  type: str
  sample: CN=web-gmsa,CN=Managed Service Accounts,DC=camtest,DC=local
sam_account_name:
  description: Its sAMAccountName.
  returned: always when the gMSA was found
  type: str
  sample: web-gmsa$
object_sid:
  description: Its objectSid.
  returned: always when the gMSA was found
  type: str
  sample: S-1-5-21-1004336348-1177238915-682003330-1109
principals:
  description: For each of O(principals) after the task (predicted in check mode), whether it may retrieve the
    password and the entry that decides it.
  returned: always when the gMSA was found
  type: list
  elements: dict
  sample: [{name: SERVER2$, dn: "CN=SERVER2,OU=WebServers,DC=camtest,DC=local", sid: S-1-5-21-1-2-3-1104,
            allowed: false, reason: no ACE of msDS-GroupMSAMembership grants read to it or to any of its groups}]
denied:
  description: The sAMAccountNames of those that may not retrieve the password after the task.
  returned: always when the gMSA was found
  type: list
  elements: str
  sample: [SERVER2$]
allowed_principals:
  description: The principals of the descriptor's allow entries after the task, by name where the domain has them.
  returned: always when the gMSA was found
  type: list
  elements: str
  sample: ["SERVER1$ (S-1-5-21-1-2-3-1103)"]
allowed_principals_before:
  description: The same before the task; the change plan's journal records it.
  returned: always when the gMSA was found
  type: list
  elements: str
  sample: ["SERVER1$ (S-1-5-21-1-2-3-1103)"]
"""

from ansible_collections.webfarm.winauth.plugins.module_utils._directory.gmsa import (  # noqa: E402
    GmsaAccessTask,
    ensure_gmsa_access,
)
from ansible_collections.webfarm.winauth.plugins.module_utils._directory.gmsa_rules import MODES  # noqa: E402
from ansible_collections.webfarm.winauth.plugins.module_utils._directory.module import ADModule  # noqa: E402
from ansible_collections.webfarm.winauth.plugins.module_utils._windows.errors import (  # noqa: E402
    WinauthError,
    fail_module,
)


def main() -> None:
    module = ADModule(
        argument_spec={
            "account": {"type": "str", "required": True},
            "principals": {"type": "list", "elements": "str", "required": True},
            "mode": {"type": "str", "choices": list(MODES), "default": "verify"},
        },
    )
    task = GmsaAccessTask(account=module.params["account"], principals=module.params["principals"],
                          mode=module.params["mode"])
    try:
        task.validate()  # every input error, before any network traffic
    except WinauthError as exc:
        fail_module(module, exc)
    module.run(lambda conn: ensure_gmsa_access(conn, task, module.check_mode))


if __name__ == "__main__":
    main()
