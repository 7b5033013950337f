#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: gpo_user_rights
short_description: Grant a user right such as "Log on as a batch job" through a domain GPO
version_added: 0.1.0
description:
  - Edits C([Privilege Rights]) in the GPO's security template,
    C(Machine\\Microsoft\\Windows NT\\SecEdit\\GptTmpl.inf) in SYSVOL. This is the setting GPMC
    shows under Computer Configuration, Windows Settings, Security Settings, Local Policies,
    User Rights Assignment. An application pool that runs as a domain account needs
    C(SeBatchLogonRight) (C(Log on as a batch job)) on every web server, or it does not start and
    the site answers 503.
  - Accounts are resolved to SIDs through LDAP and written as C(*SID), as the Windows editor
    writes them. They can be named as C(sAMAccountName), C(DOMAIN\\name), UPN, DN or SID, or as a
    well-known principal (C(BUILTIN\\Administrators), C(NT AUTHORITY\\NETWORK SERVICE),
    C(IIS_IUSRS)).
  - Everything else in the file is kept as it was (other sections and rights, their order,
    holders written as names). The file is written as Windows writes it, in UTF-16 LE with a BOM
    and CRLF line ends, with C([Unicode] Unicode=yes) and C([Version] signature="$CHICAGO$" Revision=1).
  - A right listed in a GPO replaces the local holders of that right on every computer the GPO
    applies to. The module warns when a right becomes defined, naming the local defaults it would
    drop. Rights not listed are C(Not Defined) and left to local policy.
  - On a change, the module makes sure the Security client-side extension
    C([{827D319E-6EAC-11D2-A4EA-00C04F79F83A}{803E14A0-B4FB-11D0-A0D0-00A0C90F574B}]) is listed in
    the container's C(gPCMachineExtensionNames), sorted as Windows keeps the list. It also
    increments the computer half of the GPO version in both C(GPT.INI) and the container's
    C(versionNumber), leaving the user half alone.
  - "Writes are ordered so that a run stopped at any point is completed by the next one, and no
    version announces a change that SYSVOL does not hold: a pending marker next to the template,
    then the template (written to a temporary file and renamed over the old one), the extension
    list, C(GPT.INI), the container's C(versionNumber), and the marker's removal. A later run that
    finds the marker announces the change."
  - Concurrent runs on one GPO are put one after the other by an edit lease, taken with a
    compare-and-swap on the container's C(adminDescription) before SYSVOL is touched. A run waits
    up to 150 seconds for another run's lease; a lease left by a run that stopped expires after
    120 seconds by the DC's clock and is taken over. Every run reads the GPO again under the
    lease, so N runs each adding its own account leave all N accounts.
author:
  - webfarm.winauth maintainers (@webfarm)
extends_documentation_fragment:
  - webfarm.winauth.ad
options:
  gpo:
    description:
      - The GPO, by display name or by GUID (with or without braces). It must exist (see M(webfarm.winauth.gpo)).
      - A display name shared by several GPOs is refused; give the GUID.
    type: str
    required: true
  right:
    description:
      - The user right or privilege constant, as in a security template (case-insensitive).
      - V(SeBatchLogonRight) is C(Log on as a batch job); V(SeServiceLogonRight) is C(Log on as a service).
    type: str
    default: SeBatchLogonRight
  accounts:
    description:
      - The accounts to add, remove or set, depending on O(mode).
      - Required with O(state=present); not allowed with O(state=absent).
      - With O(mode=exact), an empty list defines the right with no holder, so nobody holds it
        on the computers the GPO applies to; that needs O(allow_no_holders=true).
      - A C(SeDeny*) right for C(Everyone), C(Authenticated Users), C(BUILTIN\Users), C(Domain Users) or
        C(Domain Computers) (O(mode=add) or O(mode=exact)) needs O(allow_broad_deny=true).
    type: list
    elements: str
  mode:
    description:
      - V(add) makes sure the accounts hold the right and keeps the other holders.
      - V(remove) takes the accounts out and keeps the others. The right stays defined even when
        its last holder is removed, as in the Windows editor. Use O(state=absent) to stop defining it.
      - V(exact) makes the accounts the only holders.
    type: str
    choices: [add, remove, exact]
    default: add
  state:
    description:
      - V(present) defines the right in the GPO according to O(mode).
      - V(absent) removes the right from the GPO (C(Not Defined)), so that local policy applies again.
    type: str
    choices: [present, absent]
    default: present
  allow_no_holders:
    description:
      - Allow O(accounts=[]) with O(mode=exact), which leaves nobody holding the right on every computer the GPO
        applies to (for V(SeBatchLogonRight), no application pool with a domain identity can start, so its sites
        answer 503). Without it that task fails before any write; O(state=absent) stops defining the right instead.
    type: bool
    default: false
  allow_broad_deny:
    description:
      - Allow a C(SeDeny*) right for a principal that stands for (nearly) everybody (C(Everyone), C(Authenticated
        Users), C(BUILTIN\Users), C(Domain Users), C(Domain Computers)), which denies that logon to every user of
        the computers the GPO applies to, the administrators included (C(SeDenyNetworkLogonRight) for C(Everyone)
        cuts off WinRM and every remote tool). Without it that task fails before SYSVOL is read or written.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    description: Predicts the change, version and warnings exactly and writes nothing to AD or SYSVOL.
  diff_mode:
    support: full
    description:
      - The C([Privilege Rights]) lines before and after, with account names beside SIDs, plus the
        GPO version and the client-side extension list.
  platform:
    support: full
    platforms: posix
    description: Runs where the task runs, usually the Ansible controller; reaches the DC over LDAP and SMB.
seealso:
  - module: webfarm.winauth.gpo
  - module: webfarm.winauth.gpo_link
  - name: The batch-logon right through a domain GPO (docs/gpo-batch-logon.md)
    description: GPC and GPT, versions, CSE names, where to link, and gpupdate.
    link: https://github.com/webfarm/winauth/blob/main/docs/gpo-batch-logon.md
notes:
  - The GPO applies to the computers under the OU it is linked to. Link it to the web servers'
    OU, not to the service account's OU (see M(webfarm.winauth.gpo_link) and its scope check).
  - Servers apply the change at their next Group Policy refresh; run C(gpupdate /force) on them to
    apply it at once, before the application pool is started.
  - SYSVOL is reached over SMB (445/tcp) on the same DC as LDAP, with the same credentials. With
    O(auth=simple) the SMB session uses NTLM, so O(username) must then be C(user@domain) or
    C(DOMAIN\\user), not a DN.
requirements:
  - ldap3
  - pyspnego
  - smbprotocol
"""

EXAMPLES = r"""
- name: Let the farm's pool identity log on as a batch job on the web servers
  webfarm.winauth.gpo_user_rights:
    gpo: IIS-BatchLogon
    right: SeBatchLogonRight
    accounts:
      - CAMTEST\cam-svc
      - BUILTIN\Administrators
      - BUILTIN\Backup Operators
      - BUILTIN\Performance Log Users
      - BUILTIN\IIS_IUSRS
  delegate_to: localhost
  run_once: true

- name: Exactly these accounts may log on as a service
  webfarm.winauth.gpo_user_rights:
    gpo: IIS-BatchLogon
    right: SeServiceLogonRight
    accounts: [cam-svc, NT SERVICE\ALL SERVICES]
    mode: exact
  delegate_to: localhost
  run_once: true

- name: Stop defining the right in this GPO (local policy applies again)
  webfarm.winauth.gpo_user_rights:
    gpo: IIS-BatchLogon
    right: SeServiceLogonRight
    state: absent
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
gpo:
  description: The GPO edited.
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
right:
  description: The right, spelled as the module writes it.
  returned: success
  type: str
  sample: SeBatchLogonRight
defined:
  description: Whether the GPO defines the right after the change.
  returned: success
  type: bool
holders:
  description: The right's holders after the change, in file order.
  returned: success
  type: list
  elements: dict
  contains:
    entry:
      description: The entry as written in the template.
      type: str
      sample: "*S-1-5-21-3144985026-3175432055-1497275805-1105"
    sid:
      description: The SID it stands for (C(null) for a name the directory does not know).
      type: str
      sample: S-1-5-21-3144985026-3175432055-1497275805-1105
    name:
      description: The account's name, where known.
      type: str
      sample: CAMTEST\cam-svc
version:
  description: The GPO version after the change (in C(GPT.INI) and the container alike).
  returned: success
  type: int
  sample: 1
steps:
  description: The writes made (or, in check mode, planned), in order.
  returned: success
  type: list
  elements: str
  sample: [marker, template, extensions, gpt_ini, container, clear_marker]
completed_interrupted_change:
  description: Whether a pending marker left by an interrupted run was found (and its change announced).
  returned: success
  type: bool
defined_before:
  description: Whether the GPO defined O(right) before the task (with or without C(--diff)).
  returned: success
  type: bool
holders_before:
  description: The entries of O(right) before the task, with the same keys as RV(holders).
  returned: success
  type: list
  elements: dict
machine_extensions_before:
  description:
    - The GPO's C(gPCMachineExtensionNames) before the task.
    - A rollback writes the rights and extensions back and raises the version again; it never writes an old version.
  returned: success
  type: str
version_before:
  description: The GPO version (the container's) before the task.
  returned: success
  type: int
"""

from ansible_collections.webfarm.winauth.plugins.module_utils._gpo.container import check_gpo_name  # noqa: E402
from ansible_collections.webfarm.winauth.plugins.module_utils._gpo.inf import canonical_right  # noqa: E402
from ansible_collections.webfarm.winauth.plugins.module_utils._gpo.module import GpoModule  # noqa: E402
from ansible_collections.webfarm.winauth.plugins.module_utils._gpo.rights import ensure_user_rights  # noqa: E402
from ansible_collections.webfarm.winauth.plugins.module_utils._gpo.rights_rules import (  # noqa: E402
    check_known_holders,
    check_rights_edit,
)
from ansible_collections.webfarm.winauth.plugins.module_utils._directory.objects import parse_identity  # noqa: E402
from ansible_collections.webfarm.winauth.plugins.module_utils._windows.errors import (  # noqa: E402
    WinauthError,
    fail_module,
)


def main() -> None:
    module = GpoModule(
        argument_spec={
            "gpo": {"type": "str", "required": True},
            "right": {"type": "str", "default": "SeBatchLogonRight"},
            "accounts": {"type": "list", "elements": "str"},
            "mode": {"type": "str", "default": "add", "choices": ["add", "remove", "exact"]},
            "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
            "allow_no_holders": {"type": "bool", "default": False},
            "allow_broad_deny": {"type": "bool", "default": False},
        },
    )
    p = module.params
    try:
        right = canonical_right(p["right"])
        check_gpo_name(p["gpo"], "gpo")
        if p["accounts"] == []:     # the one guard that needs no SID: before any network traffic
            check_rights_edit(right, p["mode"], p["state"], [], p["allow_no_holders"], p["allow_broad_deny"])
        for account in p["accounts"] or []:
            try:
                parse_identity(account)
            except WinauthError as exc:
                raise type(exc)("accounts: %s" % exc) from None
        check_known_holders(right, p["mode"], p["state"], p["accounts"] or [], p["allow_broad_deny"])
    except WinauthError as exc:
        fail_module(module, exc)
    module.require_smb()
    module.run_gpo(lambda ctx: ensure_user_rights(ctx, p["gpo"], p["right"], p["accounts"], p["mode"], p["state"],
                                                  module.check_mode, module._diff,  # pylint: disable=W0212
                                                  allow_no_holders=p["allow_no_holders"],
                                                  allow_broad_deny=p["allow_broad_deny"]))


if __name__ == "__main__":
    main()
