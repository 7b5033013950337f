#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: domain_info
short_description: Pre-flight report on the Active Directory domain the farm lives in
version_added: 0.1.0
description:
  - Connects to a domain controller with the collection's shared directory connection
    options and reports the domain (DNS and NetBIOS names, SID, functional levels), the DC
    that answered, whether a Global Catalog is reachable, and who the bind identity is.
  - Optionally reports, for objects you name, whether the bind identity may write the
    attributes the farm modules change (C(servicePrincipalName) on accounts, C(gPLink) on
    OUs and the domain), read from the DC's own C(allowedAttributesEffective) computation
    for that identity. Run it before a change window to catch missing delegation early.
  - Read-only; safe in check mode.
author:
  - webfarm.winauth maintainers (@webfarm)
extends_documentation_fragment:
  - webfarm.winauth.ad
options:
  check_write:
    description:
      - Objects to check write access on, named as an account (sAMAccountName such as
        C(cam-svc) or C(SERVER1$), C(DOMAIN\\name), UPN), a distinguished name, or the
        special value C(domain) for the domain root.
    type: list
    elements: str
    default: []
  check_attributes:
    description:
      - Attributes whose write access is reported for each object of O(check_write).
      - An attribute that the object's class does not have is reported as C(null).
    type: list
    elements: str
    default: [servicePrincipalName, gPLink]
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
notes:
  - Samba DCs do not implement the LDAP "Who am I?" operation; C(bind.identity) then shows the
    name the bind used.
"""

EXAMPLES = r"""
- name: Pre-flight the directory before the farm play (Kerberos from the controller's ccache)
  webfarm.winauth.domain_info:
    server: dc1.camtest.local
    check_write:
      - cam-svc
      - OU=WebServers,DC=camtest,DC=local
  delegate_to: localhost
  run_once: true
  register: preflight

- name: Stop early when the bind identity may not register SPNs on the service account
  ansible.builtin.assert:
    that:
      - preflight.write_access[0].attributes.servicePrincipalName
    fail_msg: "{{ preflight.bind.identity }} may not write servicePrincipalName on cam-svc"

- name: Set the connection once for every directory module
  module_defaults:
    group/webfarm.winauth.ad:
      server: dc1.camtest.local
      auth: simple
      username: svc-ansible@camtest.local
      password: "{{ vault_ad_password }}"
      ca_cert: /etc/pki/camtest-ca.pem
  block:
    - name: Report the domain
      webfarm.winauth.domain_info:
"""

RETURN = r"""
domain:
  description: The domain the DC belongs to.
  returned: success
  type: dict
  contains:
    dns_name:
      description: DNS name of the domain.
      type: str
      sample: camtest.local
    netbios_name:
      description: NetBIOS (down-level) name, as in C(CAMTEST\\cam-svc).
      type: str
      sample: CAMTEST
    dn:
      description: Distinguished name of the domain (the default naming context).
      type: str
      sample: DC=camtest,DC=local
    sid:
      description: The domain SID.
      type: str
      sample: S-1-5-21-3144985026-3175432055-1497275805
    forest_root_dn:
      description: Distinguished name of the forest root domain.
      type: str
      sample: DC=camtest,DC=local
    configuration_dn:
      description: The configuration naming context.
      type: str
      sample: CN=Configuration,DC=camtest,DC=local
    schema_dn:
      description: The schema naming context.
      type: str
      sample: CN=Schema,CN=Configuration,DC=camtest,DC=local
    domain_functional_level:
      description: Domain functional level (C(2008R2), C(2016), ...).
      type: str
      sample: "2008R2"
    forest_functional_level:
      description: Forest functional level.
      type: str
      sample: "2008R2"
dc:
  description: The domain controller that answered.
  returned: success
  type: dict
  contains:
    hostname:
      description: The DC's DNS host name from its rootDSE (the name Kerberos tickets are requested for).
      type: str
      sample: DC1.camtest.local
    server:
      description: The name or address the module connected to.
      type: str
      sample: dc1.camtest.local
    port:
      description: The LDAP port used.
      type: int
      sample: 636
    functional_level:
      description: The DC's own functional level.
      type: str
      sample: "2008R2"
global_catalog:
  description: Whether forest-wide searches (duplicate SPN checks) can be made.
  returned: success
  type: dict
  contains:
    advertised:
      description: The DC's rootDSE says its Global Catalog is ready.
      type: bool
    reachable:
      description: A bind and a search on the Global Catalog port succeeded.
      type: bool
    port:
      description: Global Catalog port tried (3269 with LDAPS, 3268 otherwise).
      type: int
    error:
      description: Why the Global Catalog could not be used, when it could not.
      type: str
      returned: when not reachable
bind:
  description: How the module authenticated.
  returned: success
  type: dict
  contains:
    identity:
      description: The identity the DC authenticated (or the name used to bind where the DC cannot tell).
      type: str
      sample: Administrator@CAMTEST.LOCAL
    auth:
      description: The bind mechanism.
      type: str
      sample: kerberos
    tls:
      description: The transport security.
      type: str
      sample: ldaps
write_access:
  description: One entry per O(check_write) object.
  returned: success
  type: list
  elements: dict
  contains:
    name:
      description: The object as given.
      type: str
      sample: cam-svc
    dn:
      description: Its distinguished name.
      type: str
      sample: CN=cam-svc,OU=ServiceAccounts,DC=camtest,DC=local
    object_class:
      description: Its most specific object class.
      type: str
      sample: user
    attributes:
      description: For each O(check_attributes) entry, C(true) when writable, C(false) when not, C(null) when the
        object's class has no such attribute.
      type: dict
      sample: {"servicePrincipalName": true, "gPLink": null}
"""

from ansible_collections.webfarm.winauth.plugins.module_utils._directory.domain import domain_facts  # noqa: E402
from ansible_collections.webfarm.winauth.plugins.module_utils._directory.module import ADModule  # noqa: E402


def main() -> None:
    module = ADModule(
        argument_spec={
            "check_write": {"type": "list", "elements": "str", "default": []},
            "check_attributes": {"type": "list", "elements": "str",
                                 "default": ["servicePrincipalName", "gPLink"]},
        },
    )
    module.run(lambda conn: domain_facts(conn, module.params["check_write"], module.params["check_attributes"]))


if __name__ == "__main__":
    main()
