#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: gpo
short_description: Ensure a domain Group Policy Object exists (or not), in AD and in SYSVOL
version_added: 0.1.0
description:
  - A GPO has two halves. The Group Policy Container (GPC) is an AD object under
    C(CN=Policies,CN=System) named by the GPO's GUID, with its display name, version and the
    list of client-side extensions it uses. The Group Policy Template (GPT) is a folder of the
    same GUID in the domain's SYSVOL share, with C(GPT.INI) and C(Machine) and C(User) folders.
  - With O(state=present) the module creates both (a new GUID, C(versionNumber) 0, C(flags) 0,
    C(gPCFunctionalityVersion) 2, the C(CN=User) and C(CN=Machine) child containers, the folder
    with C(GPT.INI) C(Version=0)). The folder's ACL is derived from the container's, ACE by ACE,
    as C(samba-tool gpo create) does, so C(samba-tool gpo aclcheck) finds no mismatch.
  - The container is written first and C(GPT.INI) last. If a run stops half-way, the next run
    finds the GPO by its name and completes whatever is missing (child containers, folder and
    ACL, C(Machine) and C(User), C(GPT.INI)). The ACL of a folder that already has C(GPT.INI) is
    only checked and reported (RV(acl_consistent)), never rewritten.
  - With O(state=absent) the module removes the links to the GPO that it can find (in the
    domain's OUs, the domain itself and the forest's sites), then the SYSVOL folder, then the
    container. The container goes last because it is how a later run finds the GPO again, so
    a run that fails half-way is completed by the next one.
  - Display names are not unique in AD (GPMC lets two GPOs share one). When several GPOs have
    the O(name) given, the module fails and lists their GUIDs; it never picks one.
  - Creating a GPO does not link it anywhere (see M(webfarm.winauth.gpo_link)) and defines no
    setting (see M(webfarm.winauth.gpo_user_rights)).
author:
  - webfarm.winauth maintainers (@webfarm)
extends_documentation_fragment:
  - webfarm.winauth.ad
options:
  name:
    description:
      - The GPO's display name, as GPMC shows it (C(displayName) of the container).
      - Required with O(state=present).
      - With O(guid) and O(state=present), the GPO with that GUID is renamed to O(name) when
        its display name differs.
      - At most 256 characters (the directory's limit for C(displayName)), no control characters, no C(/) or C(\)
        (a name that reads as a path is refused).
    type: str
  guid:
    description:
      - The GPO's GUID, with or without braces (C({31B2F340-016D-11D2-945F-00C04FB984F9})).
      - Selects one GPO exactly, for example one of several that share a display name.
      - The module never creates a GPO with a GUID of your choosing; with O(state=present) the
        GPO must exist.
    type: str
  state:
    description:
      - V(present) creates the GPO or completes an unfinished one.
      - V(absent) unlinks and deletes it.
    type: str
    choices: [present, absent]
    default: present
attributes:
  check_mode:
    support: full
    description: Reports what would be created, completed or deleted, and writes nothing to AD or SYSVOL.
  diff_mode:
    support: full
    description: Shows the GPO (GUID, container, folder, version, links) before and after.
  platform:
    support: full
    platforms: posix
    description: Runs where the task runs, usually the Ansible controller; reaches the DC over LDAP and SMB.
seealso:
  - module: webfarm.winauth.gpo_link
  - module: webfarm.winauth.gpo_user_rights
  - name: The batch-logon right through a domain GPO (docs/gpo-batch-logon.md)
    description: Why the GPO is linked to the web servers' OU, versions, CSE names and gpupdate.
    link: https://github.com/webfarm/winauth/blob/main/docs/gpo-batch-logon.md
notes:
  - SYSVOL is reached over SMB (445/tcp) on the same DC as LDAP, with the same credentials. With
    O(auth=simple) the SMB session uses NTLM, so O(username) must then be C(user@domain) or
    C(DOMAIN\\user), not a DN.
  - The bind identity needs to create groupPolicyContainer objects (Domain Admins, or Group
    Policy Creator Owners) and write to SYSVOL. Point O(server) at the PDC emulator, as GPMC
    does, so that edits of one GPO are not made on two DCs at once.
  - Links are looked for in this domain and in the forest's sites; links from other domains of
    the forest are not found.
requirements:
  - ldap3
  - pyspnego
  - smbprotocol
"""

EXAMPLES = r"""
- name: The GPO that grants the pool identity "Log on as a batch job"
  webfarm.winauth.gpo:
    name: IIS-BatchLogon
    server: dc1.camtest.local
  delegate_to: localhost
  run_once: true
  register: batch_gpo

- name: Delete one of two GPOs that share a display name
  webfarm.winauth.gpo:
    guid: "{0D6E3A56-8B40-4A4B-9E43-5E1F0B3E1C2A}"
    state: absent
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
guid:
  description: The GPO's GUID, in braces. C(null) when a GPO would be created in check mode, or is absent.
  returned: always
  type: str
  sample: "{5F2E8A1C-3D4B-4C6E-9A7F-0B1C2D3E4F50}"
name:
  description: The GPO's display name.
  returned: always
  type: str
  sample: IIS-BatchLogon
dn:
  description: Distinguished name of the Group Policy Container.
  returned: always
  type: str
  sample: CN={5F2E8A1C-3D4B-4C6E-9A7F-0B1C2D3E4F50},CN=Policies,CN=System,DC=camtest,DC=local
path:
  description: The container's C(gPCFileSysPath), the UNC path of the GPO's SYSVOL folder.
  returned: always
  type: str
  sample: \\camtest.local\SysVol\camtest.local\Policies\{5F2E8A1C-3D4B-4C6E-9A7F-0B1C2D3E4F50}
version:
  description:
    - The container's C(versionNumber) (high 16 bits user edits, low 16 bits computer edits).
    - C(null) when the GPO is absent.
  returned: always
  type: int
  sample: 1
sysvol_version:
  description: C(Version) from the folder's C(GPT.INI); it should equal RV(version).
  returned: when state=present
  type: int
  sample: 1
created:
  description: Whether the GPO was (or in check mode would be) created.
  returned: when state=present
  type: bool
repaired:
  description: What was missing and was (or would be) created on an existing GPO.
  returned: when state=present
  type: list
  elements: str
  sample: ["SYSVOL folder camtest.local\\Policies\\{5F2E8A1C-...} with the container's ACL"]
acl_consistent:
  description: Whether the SYSVOL folder's ACL matches the one derived from the container's ACL. C(null) when unknown.
  returned: when state=present
  type: bool
unlinked:
  description: DNs of the OUs, domain or sites whose link to the GPO was (or would be) removed.
  returned: when state=absent
  type: list
  elements: str
repairs:
  description: RV(repaired) as structured items, each with C(kind) (container, sysvol_folder, folder, gpt_ini),
    C(target) (the DN or SYSVOL path) and C(text) (as in RV(repaired)).
  returned: when state=present
  type: list
  elements: dict
  sample: [{kind: gpt_ini, target: "camtest.local\\Policies\\{5F2E8A1C-...}\\GPT.INI", text: "... (Version=0)"}]
before:
  description:
    - The GPO before the task (with or without C(--diff)); what a rollback needs.
    - C(existed) false means this task created it (a rollback removes it); C(name) its display name before.
    - After O(state=absent) on an existing GPO, C(restorable) is false and C(links_before) lists each container
      that linked it with its C(gPLink) before; a rollback refuses to restore a deleted GPO (its SYSVOL files and ACL
      are gone with it).
  returned: always
  type: dict
  sample: {existed: false, name: null}
"""

from ansible_collections.webfarm.winauth.plugins.module_utils._gpo.container import check_gpo_name  # noqa: E402
from ansible_collections.webfarm.winauth.plugins.module_utils._gpo.lifecycle import ensure_gpo  # noqa: E402
from ansible_collections.webfarm.winauth.plugins.module_utils._gpo.module import GpoModule  # noqa: E402
from ansible_collections.webfarm.winauth.plugins.module_utils._windows.errors import (  # noqa: E402
    WinauthError,
    fail_module,
)


def main() -> None:
    module = GpoModule(
        argument_spec={
            "name": {"type": "str"},
            "guid": {"type": "str"},
            "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
        },
        required_one_of=[("name", "guid")],
    )
    params = module.params
    try:
        check_gpo_name(params["name"])
    except WinauthError as exc:
        fail_module(module, exc)
    module.require_smb()
    module.run_gpo(lambda ctx: ensure_gpo(ctx, params["name"], params["guid"], params["state"], module.check_mode))


if __name__ == "__main__":
    main()
