#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: spn
short_description: Register service principal names on one account, forest-wide unique
version_added: 0.1.0
description:
  - Adds or removes service principal names (SPNs) on one Active Directory account, which may be a
    user (the application pool identity of a farm, such as C(cam-svc)), a computer, a managed
    service account or a group managed service account (gMSA).
  - Before adding, searches the whole forest through the Global Catalog for every SPN to add,
    in one search, as C(setspn -S) does. An SPN another account holds is refused, naming the
    holder (O(on_conflict=fail)), or moved to this account (O(on_conflict=move)). If another
    writer registers it between that search and the write, the DC's refusal is reported with
    the same message.
  - SPNs are compared as Active Directory compares them, case-insensitively.
    C(HTTP/sso.camtest.local) and C(http/SSO.camtest.local) are the same SPN, and the
    account's existing spelling is kept.
  - Nothing the task does not name is removed, except with O(purge=true), which makes the
    account's SPNs of the named service classes exactly the list.
  - Warns about the known traps, see O(spns).
  - Cost of a run that changes something is one Global Catalog search, then one LDAP modify per
    touched account (each holder an SPN is moved from, then the account), whatever the number
    of SPNs.
author:
  - webfarm.winauth maintainers (@webfarm)
extends_documentation_fragment:
  - webfarm.winauth.ad
options:
  account:
    description:
      - The account that must hold the SPNs.
      - A sAMAccountName (C(cam-svc), C(SERVER1$); a computer, MSA or gMSA may be named
        without its trailing C($)), C(DOMAIN\name), a UPN (C(cam-svc@camtest.local)), a
        distinguished name or a SID.
      - The task fails when no account or more than one matches.
    type: str
    required: true
  spns:
    description:
      - SPNs in the form C(serviceclass/host[:port][/servicename]), such as C(HTTP/sso.camtest.local).
      - "Checked before anything is written: a non-empty service class and host, no whitespace,
        no double slash, no C(@REALM), a port in 1-65535 (C(MSSQLSvc) SPNs may name a SQL Server
        instance there instead), an optional non-empty service name."
      - "Warnings: a C(HOST/) SPN for a web alias (register C(HTTP/)); a port-qualified C(HTTP/)
        SPN (browsers do not ask for the port by default); an C(HTTP/) SPN for a host name
        that belongs to a computer account, registered on another account: it moves Kerberos
        for every HTTP.sys service of that host that runs as the machine (WinRM and PowerShell
        remoting included, so Ansible's own Kerberos connection to that host) to this account.
        The warning names the ways out."
    type: list
    elements: str
    default: []
  hosts:
    description:
      - Host names to register O(service_class) SPNs for, each as its short name and its fully
        qualified name, as seed 004 does with C(setspn -a) twice.
      - C(sso) with O(dns_domain=camtest.local) gives C(HTTP/sso) and C(HTTP/sso.camtest.local);
        C(sso.camtest.local) gives the same. An IPv4 address gives itself only.
      - Added to O(spns).
    type: list
    elements: str
    default: []
  service_class:
    description:
      - The service class of the SPNs built from O(hosts). Defaults to C(HTTP) when O(hosts) is set.
      - With O(purge=true), this class is purged too, even with no O(hosts); O(service_class=HTTP),
        O(purge=true) and empty O(spns) remove every HTTP SPN of the account.
    type: str
  dns_domain:
    description:
      - DNS suffix that completes short names in O(hosts).
      - Defaults to the DNS name of the domain the module is bound to.
      - (Named so because O(domain) is the connection option that finds a DC.)
    type: str
  state:
    description:
      - V(present) adds the SPNs the account lacks.
      - V(absent) removes the listed SPNs from the account (every spelling of them); SPNs on
        other accounts are not touched.
    type: str
    choices: [present, absent]
    default: present
  purge:
    description:
      - With O(state=present), also remove the account's SPNs of the service classes named in
        O(spns) and O(service_class) that are not listed. Other service classes are never touched.
    type: bool
    default: false
  on_conflict:
    description:
      - What to do when another account of the forest holds an SPN to register.
      - V(fail) fails naming the SPN and the holder's DN; nothing is written.
      - V(move) removes the SPN from the holder(s) and adds it to O(account); the moves are in
        C(moved_from) and in the diff. The holder must be in the domain of the connected DC.
    type: str
    choices: [fail, move]
    default: fail
attributes:
  check_mode:
    support: full
    description: Reads, searches and predicts exactly; writes nothing.
  diff_mode:
    support: full
    description: The SPN lists of every touched account, before and after.
  platform:
    support: full
    platforms: posix
    description: Runs where the task runs, usually the Ansible controller.
seealso:
  - module: webfarm.winauth.spn_info
  - module: webfarm.winauth.delegation
  - module: webfarm.winauth.domain_info
notes:
  - The bind identity needs write access to C(servicePrincipalName) on the account (and on the
    holders with O(on_conflict=move)). The I(Validated write to service principal name) right only
    lets a computer register SPNs for its own host names.
  - Active Directory itself refuses duplicates on Windows Server 2012 R2 and later DCs; older DCs
    and directories with the uniqueness check turned off accept them, which is why the module
    searches first.
"""

EXAMPLES = r"""
- name: The L4 farm (seed 001) - HTTP SPNs for the virtual name on the shared pool identity
  webfarm.winauth.spn:
    account: CAMTEST\cam-svc
    hosts: [sso]
    dns_domain: camtest.local
  delegate_to: localhost
  run_once: true

- name: The ARR farm (seed 000) - front end and content servers on one account
  webfarm.winauth.spn:
    account: user1
    spns:
      - HTTP/arr1.camtest.local
      - HTTP/content1.camtest.local
      - HTTP/content2.camtest.local
  delegate_to: localhost
  run_once: true

- name: Fix the seed 001 mistake - move the SPN from a node's computer account to the pool identity
  webfarm.winauth.spn:
    account: cam-svc
    spns: [HTTP/sso.camtest.local]
    on_conflict: move
  delegate_to: localhost

- name: Make the HTTP SPNs of cam-svc exactly these two
  webfarm.winauth.spn:
    account: cam-svc
    spns: [HTTP/sso, HTTP/sso.camtest.local]
    purge: true
  delegate_to: localhost

- name: Remove an SPN
  webfarm.winauth.spn:
    account: cam-svc
    spns: [HTTP/old-sso.camtest.local]
    state: absent
  delegate_to: localhost
"""

RETURN = r"""
dn:
  description: Distinguished name of the account.
  returned: success
  type: str
  sample: CN=cam-svc,OU=ServiceAccounts,DC=camtest,DC=local
sam_account_name:
  description: The account's sAMAccountName.
  returned: success
  type: str
  sample: cam-svc
spns:
  description: The account's SPNs after the task (predicted in check mode).
  returned: success
  type: list
  elements: str
  sample: [HTTP/sso, HTTP/sso.camtest.local]
added:
  description: SPNs added to the account (would be, in check mode).
  returned: success
  type: list
  elements: str
  sample: [HTTP/sso.camtest.local]
removed:
  description: SPNs removed from the account (O(state=absent) or O(purge=true)), as the directory stored them.
  returned: success
  type: list
  elements: str
  sample: []
moved_from:
  description: With O(on_conflict=move), the accounts SPNs were taken from.
  returned: success
  type: list
  elements: dict
  contains:
    dn:
      description: Distinguished name of the former holder.
      type: str
      sample: CN=SERVER1,OU=WebServers,DC=camtest,DC=local
    sam_account_name:
      description: Its sAMAccountName.
      type: str
      sample: SERVER1$
    spns:
      description: The SPNs removed from it, as it stored them.
      type: list
      elements: str
      sample: [HTTP/sso.camtest.local]
spns_before:
  description:
    - The account's SPNs before the task, as the directory stored them (with or without C(--diff)).
    - With RV(object_sid), RV(object_guid) and RV(holders_before), what a rollback needs to put them back.
  returned: success
  type: list
  elements: str
  sample: [HTTP/sso]
object_sid:
  description: The account's objectSid, which names it whatever it is renamed to.
  returned: success
  type: str
  sample: S-1-5-21-1004336348-1177238915-682003330-1105
object_guid:
  description: The account's objectGUID.
  returned: success
  type: str
  sample: 6e3b0a54-6f41-4c1e-9a0b-9d6c2f4c1a11
holders_before:
  description: With O(on_conflict=move), each account SPNs were taken from, with all its SPNs before the task.
  returned: success
  type: list
  elements: dict
  contains:
    dn:
      description: Distinguished name of the former holder.
      type: str
    sam_account_name:
      description: Its sAMAccountName.
      type: str
    object_sid:
      description: Its objectSid.
      type: str
    object_guid:
      description: Its objectGUID.
      type: str
    spns_before:
      description: All its SPNs before the task.
      type: list
      elements: str
"""

from ansible_collections.webfarm.winauth.plugins.module_utils._directory.module import ADModule  # noqa: E402
from ansible_collections.webfarm.winauth.plugins.module_utils._directory.spn import SpnRequest, ensure_spn  # noqa: E402
from ansible_collections.webfarm.winauth.plugins.module_utils._windows.errors import (  # noqa: E402
    WinauthError,
    fail_module,
)


def main() -> None:
    module = ADModule(
        argument_spec={
            "account": {"type": "str", "required": True},
            "spns": {"type": "list", "elements": "str", "default": []},
            "hosts": {"type": "list", "elements": "str", "default": []},
            "service_class": {"type": "str"},
            "dns_domain": {"type": "str"},
            "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
            "purge": {"type": "bool", "default": False},
            "on_conflict": {"type": "str", "default": "fail", "choices": ["fail", "move"]},
        },
    )
    request = SpnRequest(**{name: module.params[name] for name in (
        "account", "spns", "hosts", "service_class", "dns_domain", "state", "purge", "on_conflict")})
    try:
        request.check()
    except WinauthError as exc:
        fail_module(module, exc)
    module.run(lambda conn: ensure_spn(conn, request, module.check_mode))


if __name__ == "__main__":
    main()
