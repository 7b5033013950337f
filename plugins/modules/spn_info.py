#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: spn_info
short_description: Who holds which service principal names, and which are duplicated, forest-wide
version_added: 0.1.0
description:
  - Read-only answers to the three questions C(setspn) answers, from the Global Catalog, so the
    whole forest is searched.
  - O(spns) is C(setspn -Q), which accounts hold the SPNs matching each pattern.
  - O(accounts) is C(setspn -L), the SPNs of each account.
  - O(duplicates=true) is C(setspn -X), every SPN registered on more than one account, compared
    case-insensitively as Active Directory compares them. A duplicated SPN breaks Kerberos for
    that name, because the KDC cannot tell whose key to encrypt the ticket with (a Windows DC refuses
    and logs KDC event 11; the lab's Samba KDC answers that it does not know the name), and browsers
    fall back to NTLM without saying so.
author:
  - webfarm.winauth maintainers (@webfarm)
extends_documentation_fragment:
  - webfarm.winauth.ad
options:
  spns:
    description:
      - SPNs or patterns to look up; C(*) matches any run of characters, as in C(setspn -Q)
        (C(HTTP/sso*), C(*/web01.camtest.local), C(*)). Matching is case-insensitive.
      - All patterns are answered by one Global Catalog search.
    type: list
    elements: str
    default: []
  accounts:
    description:
      - Accounts whose SPNs to list, named as sAMAccountName, C(DOMAIN\name), UPN, DN or SID.
    type: list
    elements: str
    default: []
  duplicates:
    description:
      - Search the forest for SPNs held by more than one account.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    description: The module only reads.
  diff_mode:
    support: none
    description: Nothing is changed, so there is nothing to diff.
  platform:
    support: full
    platforms: posix
    description: Runs where the task runs, usually the Ansible controller.
seealso:
  - module: webfarm.winauth.spn
"""

EXAMPLES = r"""
- name: Before the change window - who holds the farm's names, and is anything duplicated?
  webfarm.winauth.spn_info:
    spns:
      - HTTP/sso*
      - "*/server1*"
    accounts: [cam-svc]
    duplicates: true
  delegate_to: localhost
  run_once: true
  register: spn_report

- name: Stop when an SPN is registered twice
  ansible.builtin.assert:
    that: spn_report.duplicates | length == 0
    fail_msg: "{{ spn_report.duplicates | map(attribute='spn') | join(', ') }} registered on several accounts"
"""

RETURN = r"""
queries:
  description: One entry per O(spns) pattern, in order.
  returned: success
  type: list
  elements: dict
  contains:
    pattern:
      description: The pattern as given.
      type: str
      sample: HTTP/sso*
    found:
      description: Every matching SPN with its holder, sorted by SPN.
      type: list
      elements: dict
      contains:
        spn:
          description: The SPN as the holder stores it.
          type: str
          sample: HTTP/sso.camtest.local
        dn:
          description: The holder's distinguished name.
          type: str
          sample: CN=cam-svc,OU=ServiceAccounts,DC=camtest,DC=local
        sam_account_name:
          description: The holder's sAMAccountName.
          type: str
          sample: cam-svc
        kind:
          description: C(user), C(computer), C(managed service account) or C(group managed service account).
          type: str
          sample: user
accounts:
  description: One entry per O(accounts) name, in order.
  returned: success
  type: list
  elements: dict
  contains:
    name:
      description: The name as given.
      type: str
      sample: cam-svc
    dn:
      description: The account's distinguished name.
      type: str
      sample: CN=cam-svc,OU=ServiceAccounts,DC=camtest,DC=local
    sam_account_name:
      description: Its sAMAccountName.
      type: str
      sample: cam-svc
    kind:
      description: C(user), C(computer), C(managed service account) or C(group managed service account).
      type: str
      sample: user
    spns:
      description: Its SPNs, as stored.
      type: list
      elements: str
      sample: [HTTP/sso, HTTP/sso.camtest.local]
duplicates:
  description: SPNs held by more than one account (empty unless O(duplicates=true)).
  returned: success
  type: list
  elements: dict
  contains:
    spn:
      description: The SPN (the first spelling found).
      type: str
      sample: HTTP/sso.camtest.local
    holders:
      description: Every account holding it, with the spelling it stores.
      type: list
      elements: dict
      sample:
        - {spn: HTTP/sso.camtest.local, dn: "CN=SERVER1,OU=WebServers,DC=camtest,DC=local",
           sam_account_name: SERVER1$, kind: computer}
        - {spn: http/SSO.camtest.local, dn: "CN=SERVER2,OU=WebServers,DC=camtest,DC=local",
           sam_account_name: SERVER2$, kind: computer}
"""

from ansible_collections.webfarm.winauth.plugins.module_utils._directory.module import ADModule  # noqa: E402
from ansible_collections.webfarm.winauth.plugins.module_utils._directory.spn import (  # noqa: E402
    check_lookup,
    look_up_spns,
)
from ansible_collections.webfarm.winauth.plugins.module_utils._windows.errors import (  # noqa: E402
    WinauthError,
    fail_module,
)


def main() -> None:
    module = ADModule(
        argument_spec={
            "spns": {"type": "list", "elements": "str", "default": []},
            "accounts": {"type": "list", "elements": "str", "default": []},
            "duplicates": {"type": "bool", "default": False},
        },
    )
    p = module.params
    try:
        patterns = check_lookup(p["spns"], p["accounts"], p["duplicates"])
    except WinauthError as exc:
        fail_module(module, exc)
    module.run(lambda conn: look_up_spns(conn, patterns, p["accounts"], p["duplicates"]))


if __name__ == "__main__":
    main()
