#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: gpo_link
short_description: Link a GPO to an OU, the domain or a site, with its flags and link order
version_added: 0.1.0
description:
  - Manages one entry of the target's C(gPLink) attribute, which lists the GPOs linked there as
    C([LDAP://cn={GUID},cn=policies,cn=system,DC=...;options]). The other entries are kept byte
    for byte as they were, and the attribute is changed in one atomic LDAP modify that fails
    (changing nothing) if someone else edited it since it was read.
  - Option bits are written as Windows does (1 = link disabled, 2 = enforced); unknown bits are kept.
  - Link order is GPMC's C(Link Order) (1 = highest precedence). In C(gPLink) the highest
    precedence is the last entry. Like GPMC, a new link without O(order) gets the lowest
    precedence.
  - Scope check. User rights assignment (the batch-logon right of the farm's pool identity) is
    computer policy. It applies to the computers under the linked OU, not to the OU that holds
    the service account. With O(expect_computers), the module checks that every computer
    listed is under the target and that no OU on the way blocks inheritance, unless the link is
    enforced. For each computer it cannot reach, it warns, naming the OU the computer is in
    (or fails with O(strict=true), before writing anything).
  - Without O(target), the GPO is linked to the deepest OU holding all of O(expect_computers),
    which is the OU of the farm's computer accounts.
author:
  - webfarm.winauth maintainers (@webfarm)
extends_documentation_fragment:
  - webfarm.winauth.ad
options:
  gpo:
    description:
      - The GPO, by display name or by GUID (with or without braces).
      - A display name shared by several GPOs is refused; give the GUID.
    type: str
    required: true
  target:
    description:
      - Where to link, as a distinguished name of an OU, the domain or a site
        (C(CN=Default-First-Site-Name,CN=Sites,CN=Configuration,DC=...)), or the word C(domain).
      - Required unless O(expect_computers) is given (see the description).
    type: str
  state:
    description:
      - V(present) links the GPO; V(absent) removes its link from O(target).
      - With V(absent), a GPO that no longer exists is not an error. Give its GUID to remove a link
        left dangling after the GPO was deleted elsewhere.
    type: str
    choices: [present, absent]
    default: present
  enabled:
    description:
      - Whether the link is enabled (GPMC's C(Link Enabled)). A disabled link is kept but applied nowhere.
      - When omitted, a new link is enabled and an existing link keeps its setting.
    type: bool
  enforced:
    description:
      - Whether the link is enforced (C(No Override)). Lower OUs that block inheritance still get it,
        and it wins over their conflicting settings.
      - When omitted, a new link is not enforced and an existing link keeps its setting.
    type: bool
  order:
    description:
      - Link order among the target's links, 1 being the highest precedence.
      - A value larger than the number of links means last.
      - When omitted, a new link comes last (lowest precedence) and an existing link keeps its place.
    type: int
  expect_computers:
    description:
      - Computer accounts (C(SERVER1), C(SERVER1$), C(DOMAIN\\SERVER1$) or a DN) that the GPO must
        apply to, typically the farm's web servers.
      - Each one must exist and be a computer account.
    type: list
    elements: str
    default: []
  strict:
    description:
      - Fail, without writing, when the link would not reach every computer in O(expect_computers),
        when it is disabled, or when the GPO's computer configuration is disabled, instead of warning.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    description: Reports the link list that would result, with the scope check, and writes nothing.
  diff_mode:
    support: full
    description: The target's links in link order, with each GPO's name, GUID and flags, before and after.
  platform:
    support: full
    platforms: posix
    description: Runs where the task runs, usually the Ansible controller.
seealso:
  - module: webfarm.winauth.gpo
  - module: webfarm.winauth.gpo_user_rights
notes:
  - The bind identity needs write access to C(gPLink) on the target (GPMC's "Link GPOs" permission).
  - Clients pick up a new or changed link at their next Group Policy refresh (every 90 minutes
    or so, or C(gpupdate /force)); see the collection's docs/gpo-batch-logon.md.
requirements:
  - ldap3
  - pyspnego
"""

EXAMPLES = r"""
- name: Link the batch-logon GPO to the OU of the web servers, and check it reaches them
  webfarm.winauth.gpo_link:
    gpo: IIS-BatchLogon
    target: OU=WebServers,DC=camtest,DC=local
    expect_computers: [SERVER1, SERVER2]
    strict: true
  delegate_to: localhost
  run_once: true

- name: Same, letting the module find the OU of the farm's computers
  webfarm.winauth.gpo_link:
    gpo: IIS-BatchLogon
    expect_computers: "{{ groups['webfarm'] }}"
  delegate_to: localhost
  run_once: true

- name: Highest precedence, enforced, on the domain
  webfarm.winauth.gpo_link:
    gpo: "{5F2E8A1C-3D4B-4C6E-9A7F-0B1C2D3E4F50}"
    target: domain
    order: 1
    enforced: true
  delegate_to: localhost
  run_once: true

- name: Remove the link seed 001 made on the service accounts' OU
  webfarm.winauth.gpo_link:
    gpo: IIS-BatchLogon
    target: OU=ServiceAccounts,DC=camtest,DC=local
    state: absent
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
gpo:
  description: The GPO linked.
  returned: success
  type: dict
  contains:
    guid:
      description: Its GUID.
      type: str
      sample: "{5F2E8A1C-3D4B-4C6E-9A7F-0B1C2D3E4F50}"
    name:
      description: Its display name.
      type: str
      sample: IIS-BatchLogon
target:
  description: DN of the OU, domain or site.
  returned: success
  type: str
  sample: OU=WebServers,DC=camtest,DC=local
target_kind:
  description: V(ou), V(domain) or V(site).
  returned: success
  type: str
  sample: ou
link_order:
  description: The GPO's link order on the target after the change (C(null) when not linked).
  returned: success
  type: int
  sample: 1
links:
  description: All links of the target after the change, in link order (1 = highest precedence).
  returned: success
  type: list
  elements: dict
  contains:
    order:
      description: Link order.
      type: int
    guid:
      description: GUID of the linked GPO.
      type: str
    name:
      description: Its display name (C(null) if the GPO no longer exists).
      type: str
    enabled:
      description: Whether the link is enabled.
      type: bool
    enforced:
      description: Whether the link is enforced.
      type: bool
scope:
  description: For each of O(expect_computers), whether the link reaches it.
  returned: success
  type: list
  elements: dict
  contains:
    computer:
      description: The name given.
      type: str
    dn:
      description: The computer account's DN.
      type: str
    in_scope:
      description: Whether the GPO linked here applies to it.
      type: bool
    blocked_at:
      description: OUs between the target and the computer that block inheritance.
      type: list
      elements: str
links_before:
  description:
    - The links of O(target) before the task, in link order, with the same keys as RV(links) (with or without
      C(--diff)).
  returned: success
  type: list
  elements: dict
gplink_before:
  description: The target's C(gPLink) value before the task, as the directory stored it (empty when it had none).
  returned: success
  type: str
  sample: "[LDAP://cn={31B2F340-016D-11D2-945F-00C04FB984F9},cn=policies,cn=system,DC=camtest,DC=local;0]"
link_created:
  description: Whether this task created the link (the GPO was not linked to O(target) before); a rollback removes it.
  returned: success
  type: bool
"""

from ansible_collections.webfarm.winauth.plugins.module_utils._gpo.linking import ensure_link  # noqa: E402
from ansible_collections.webfarm.winauth.plugins.module_utils._gpo.module import GpoModule  # noqa: E402
from ansible_collections.webfarm.winauth.plugins.module_utils._windows.dn import dn_problem  # noqa: E402


def main() -> None:
    module = GpoModule(
        argument_spec={
            "gpo": {"type": "str", "required": True},
            "target": {"type": "str"},
            "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
            "enabled": {"type": "bool"},
            "enforced": {"type": "bool"},
            "order": {"type": "int"},
            "expect_computers": {"type": "list", "elements": "str", "default": []},
            "strict": {"type": "bool", "default": False},
        },
        required_if=[("state", "absent", ("target",))],
    )
    p = module.params
    problem = dn_problem(p["target"]) if p["target"] and "=" in p["target"] else None
    if problem:
        module.fail_json(msg="target=%s is not a valid distinguished name: %s; give the OU, domain or site as "
                             "OU=WebServers,DC=example,DC=com (RFC 4514 escapes)" % (p["target"], problem))
    if p["order"] is not None and p["order"] < 1:
        module.fail_json(msg="order=%d: link order starts at 1 (the highest precedence); use 1 for first, or omit it"
                             % p["order"])
    module.run_gpo(lambda ctx: ensure_link(ctx, p["gpo"], p["target"], p["state"], p["enabled"], p["enforced"],
                                           p["order"], p["expect_computers"], p["strict"], module.check_mode))


if __name__ == "__main__":
    main()
