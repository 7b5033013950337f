#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: farm_audit
short_description: Audit a Windows-authentication web farm (its nodes and its directory) for the known failure modes
version_added: 0.1.0
description:
  - Reads a farm without changing anything, and reports each problem that makes Kerberos fall back to
    NTLM, makes it fail, or makes the site answer 503, with its severity and its fix.
  - "Two passes. The B(node pass) runs on each node of the farm (the play's hosts): one C(iis_config)
    read (sites, applications, pools and their identities, Windows and anonymous authentication at every
    application; for an ARR front end also its web farms, global rules and proxy switch) and one read of
    the effective C(SeBatchLogonRight) holders, through the node's own connection; the directory is read
    on the controller. It returns the node's snapshot (RV(node)) and the findings one node can show."
  - "The B(farm pass) gets the snapshots in O(nodes), makes no remote call, reads the directory once and
    runs every rule across the nodes. With O(report_dir) it writes the report as text and a picture of
    which account holds which SPN and which pool runs as whom (Graphviz DOT, and SVG when Graphviz's
    C(dot) is installed on the controller)."
  - "The directory reads: who holds the SPNs of the farm's names (HTTP and HOST) and of the nodes' own
    names (one Global Catalog search, the whole forest); the pool identities (SID and groups) and the
    nodes' computer accounts; the GPOs linked above the nodes' computer accounts and above the pool
    identities (and O(farm.batch_logon_gpo)): whether their security template in SYSVOL grants
    C(SeBatchLogonRight) to a pool identity and which of the farm's computers their links reach; and when the
    domain began to make AES keys (the creation of its Read-only Domain Controllers group); for a gMSA identity,
    its C(msDS-GroupMSAMembership) and each node's computer token."
  - "Findings (RV(findings) C(id)): C(duplicate_spn); C(spn_on_computer_account) (seed 001's
    C(setspn Server1$)); C(spn_on_wrong_account); C(spn_on_unused_account) (no node decrypts with the
    account that holds the SPN); C(spn_missing); C(mixed_pool_identities) across an L4 farm;
    C(kernel_mode_machine_keys) (kernel mode on, useAppPoolCredentials off, for a domain identity);
    C(host_spn_for_web_name) (HOST instead of HTTP); C(batch_logon_missing) on a node;
    C(batch_logon_gpo_out_of_scope) (the right granted by a GPO linked where none of the farm's computers
    are, seed 001's OU=ServiceAccounts link) and C(batch_logon_gpo_partial_scope);
    C(ntlm_only_providers) where Kerberos is intended; C(hostname_spn_on_service_account) (an HTTP SPN
    for a node's own name on a non-machine account, which breaks Kerberos to its WinRM);
    C(windows_auth_on_arr_front_end); C(arr_not_proxying); C(anonymous_and_windows);
    C(windows_auth_off); C(no_authentication); C(pool_missing); C(identity_allows_rc4) (a pool identity's
    C(msDS-SupportedEncryptionTypes) allows RC4, which domain controllers updated for CVE-2026-20833 keep
    issuing to it: a warning with AES beside it, an error with RC4 alone);
    C(farm_name_is_alias) (a farm name is a CNAME of a name whose HTTP SPN the farm's account does not hold: browsers
    ask for the canonical name's SPN; resolved with the controller's resolver, which stands in for the clients');
    C(gmsa_retrieval_denied) (the pool runs as a gMSA whose C(msDS-GroupMSAMembership) does not let the node's
    computer account retrieve its password, the C(Test-ADServiceAccount) check; a warning when the attribute is
    unset or unreadable to the bind identity); C(identity_without_aes_keys) (the pool identity's password predates the domain's AES keys: its
    C(pwdLastSet) is older than the domain's Read-only Domain Controllers group, so it has RC4 keys only);
    C(extended_protection_behind_tls_termination) (Extended Protection's C(tokenChecking) on a content server
    behind ARR, or on a node behind a balancer that offloads TLS (O(farm.tls_offload)), without the C(Proxy) flag:
    the client's channel binding names the TLS connection it opened in front, so it never matches; an error with
    C(Require), a warning with C(Allow)) and C(extended_protection_spn_list) (the C(Proxy) flag, whose service
    name check needs the farm's SPNs in the list)."
author:
  - webfarm.winauth maintainers (@webfarm)
extends_documentation_fragment:
  - webfarm.winauth.ad
options:
  farm:
    description: What the farm is meant to be.
    type: dict
    required: true
    suboptions:
      name:
        description: A name for the farm, used in the report and the file names.
        type: str
        required: true
      kind:
        description:
          - V(lb) for nodes behind an L4 load balancer (seed 001), V(arr) for an ARR front end with content
            servers (seed 000).
        type: str
        choices: [lb, arr]
        default: lb
      names:
        description:
          - The host names clients use (the virtual name and its short form; the ARR front end's name). Their
            HTTP SPNs must be on the account the nodes decrypt with.
        type: list
        elements: str
        required: true
      mode:
        description:
          - V(kerberos) when Kerberos is intended (NTLM-only providers are then an error); V(ntlm) for the
            NTLM-only mode of seeds 000 and 004 (no SPN needed, none checked).
        type: str
        choices: [kerberos, ntlm]
        default: kerberos
      identity:
        description: The intended pool identity (C(DOMAIN\\user)); read from the directory even if no pool uses it.
        type: str
      site:
        description:
          - The IIS site of the farm's application. Without it, every application with Windows authentication
            on is audited.
        type: str
      application:
        description: The application path inside O(farm.site) (C(/) is the site's root).
        type: str
      batch_logon_gpo:
        description: The GPO meant to grant C(SeBatchLogonRight) (its display name or GUID), checked for scope.
        type: str
      tls_offload:
        description:
          - V(true) when the L4 balancer terminates TLS in front of the nodes (SSL offload), so the nodes never see
            the client's TLS connection. Behind ARR (O(farm.kind=arr)) the content servers never do either, whatever
            this says.
        type: bool
        default: false
  role:
    description:
      - The node's part in the farm, for the node pass. V(front_end) is an ARR server (its web farms, rules
        and proxy switch are read too; Windows authentication there is a finding); V(content) a content server
        behind it; V(node) an L4 farm node.
      - Usually a host variable.
    type: str
    choices: [node, front_end, content]
    default: node
  computer_name:
    description:
      - The node's computer account name (without C($)), for the node pass. Defaults to the first label of
        the inventory host name, upper-cased.
    type: str
  nodes:
    description:
      - For the farm pass, the node snapshots, or the registered results of the node pass on each node,
        typically C("{{ ansible_play_hosts | map('extract', hostvars, 'node_audit') | list }}").
      - When set, nothing is read from the managed hosts.
    type: list
    elements: raw
  report_dir:
    description:
      - A directory on the controller for the report (C(<name>.txt)), the picture (C(<name>.dot) and, with
        Graphviz installed, C(<name>.svg)). Created when missing.
    type: path
  fail_on:
    description:
      - V(error) fails the task when there is an error finding, V(warning) also on warnings; V(never)
        only reports.
    type: str
    choices: [never, error, warning]
    default: never
attributes:
  check_mode:
    support: full
    description: The audit only reads; it runs the same in check mode.
  diff_mode:
    support: none
    description: Nothing is changed.
  platform:
    support: full
    platforms: windows
    description: The node pass reaches IIS hosts through their connection; the directory is read on the controller.
seealso:
  - module: webfarm.winauth.negotiate_probe
  - module: webfarm.winauth.spn_info
  - module: webfarm.winauth.policy_refresh
notes:
  - The node pass costs two remote commands per node; the farm pass none.
  - The directory connection comes from the options of the C(webfarm.winauth.ad) group, usually set once with
    C(module_defaults). Reading SYSVOL needs C(username) as C(user@domain) or C(DOMAIN\\user) (or Kerberos).
  - "Group membership in the batch-logon check: a holder matches the pool identity itself or a group in its
    C(tokenGroups). Local groups of the node (other than what the node reports) are not expanded."
"""

EXAMPLES = r"""
- name: Audit the L4 farm
  hosts: lb_nodes
  gather_facts: false
  module_defaults:
    group/webfarm.winauth.ad:
      server: dc1.camtest.local
  vars:
    farm:
      name: sso
      kind: lb
      names: [sso.camtest.local, sso]
      identity: CAMTEST\cam-svc
      site: Default Web Site
      batch_logon_gpo: IIS-BatchLogon-GPO
  tasks:
    - name: Read each node and check it against the directory
      webfarm.winauth.farm_audit:
        farm: "{{ farm }}"
      register: node_audit

    - name: The farm as a whole, with a report and a picture
      webfarm.winauth.farm_audit:
        farm: "{{ farm }}"
        nodes: "{{ ansible_play_hosts | map('extract', hostvars, 'node_audit') | list }}"
        report_dir: "{{ playbook_dir }}/audit"
        fail_on: error
      run_once: true

- name: Audit the ARR pattern (front end and content servers in one play)
  hosts: arr_frontends:content_nodes
  gather_facts: false
  vars:
    farm: {name: arr, kind: arr, names: [arr1.camtest.local], identity: CAMTEST\user1}
  tasks:
    - name: Read the front end and the content servers
      webfarm.winauth.farm_audit:
        farm: "{{ farm }}"
        role: "{{ 'front_end' if inventory_hostname in groups['arr_frontends'] else 'content' }}"
      register: node_audit

    - name: Audit the ARR farm as a whole
      webfarm.winauth.farm_audit:
        farm: "{{ farm }}"
        nodes: "{{ ansible_play_hosts | map('extract', hostvars, 'node_audit') | list }}"
      run_once: true
      register: audit

    - name: Show the report
      ansible.builtin.debug:
        msg: "{{ audit.report }}"
      run_once: true
"""

RETURN = r"""
findings:
  description: The problems found, most severe first.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: The rule (see the description), for C(selectattr).
      type: str
      sample: spn_on_computer_account
    severity:
      description: C(error) (authentication or the site fails), C(warning) (works by luck or is fragile), C(info).
      type: str
    node:
      description: The inventory host the finding is about; null for the farm as a whole.
      type: str
    title:
      description: One line.
      type: str
    detail:
      description: What was found and what it breaks.
      type: str
    fix:
      description: What to change, and with which module.
      type: str
    spn:
      description: The SPN concerned, when there is one.
      type: str
    account:
      description: The account concerned, when there is one.
      type: str
  sample:
    - id: spn_on_computer_account
      severity: error
      node: SERVER1
      title: HTTP/sso.camtest.local is on a computer account while the pool runs as CAMTEST\cam-svc
      detail: "SERVER1$ (computer) holds HTTP/sso.camtest.local ..."
      fix: Move HTTP/sso.camtest.local to CAMTEST\cam-svc ...
      spn: HTTP/sso.camtest.local
      account: SERVER1$
summary:
  description: The number of findings per severity.
  returned: always
  type: dict
  sample: {"error": 1, "warning": 0, "info": 0}
report:
  description: The report as text, for people (findings, who holds the SPNs, which pool runs as whom).
  returned: always
  type: str
ownership:
  description: Who holds each SPN looked at, and each audited application's pool, identity and decrypting account.
  returned: always
  type: dict
node:
  description: The node's snapshot (node pass only); pass it to the farm pass in O(nodes). No secrets.
  returned: when nodes is not set
  type: dict
files:
  description: The files written to O(report_dir) (C(text), C(dot), C(svg) or C(svg_error)).
  returned: when report_dir is set
  type: dict
remote_calls:
  description: Remote commands run on the host (2 in the node pass, 0 in the farm pass).
  returned: always
  type: int
msg:
  description: A one-line summary, or the failing findings with O(fail_on).
  returned: always
  type: str
"""
