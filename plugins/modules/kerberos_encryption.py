#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: kerberos_encryption
short_description: The Kerberos encryption types of one account (msDS-SupportedEncryptionTypes), AES by default
version_added: 0.2.0
description:
  - Sets C(msDS-SupportedEncryptionTypes) on the farm's identity (the shared service account or the
    gMSA that runs the application pools and holds the farm's HTTP SPNs), so that the KDC issues its
    service tickets with the ciphers given here rather than with the domain's default.
  - Windows updates from January 2026 (CVE-2026-20833, KB5073381) make domain controllers issue
    AES-only service tickets to accounts whose attribute is unset. An account set to AES128 and AES256
    explicitly keeps working the same way before and after that change; an account that allows RC4
    keeps getting RC4 tickets when a client asks for them, and such tickets can be cracked offline
    (Kerberoasting).
  - The module manages the cipher bits (DES, RC4, AES128, AES256). DES bits found on the account are
    cleared; every other bit (C(AES256-CTS-HMAC-SHA1-96-SK) for AES session keys, FAST, claims,
    compound identity) is kept as it is.
  - One atomic LDAP modify (the old value is deleted by value), so an edit made meanwhile by someone
    else is never overwritten silently; a second run changes nothing.
author:
  - webfarm.winauth maintainers (@webfarm)
extends_documentation_fragment:
  - webfarm.winauth.ad
options:
  account:
    description:
      - The account, named as sAMAccountName (C(cam-svc), a gMSA or computer also without C($)),
        C(DOMAIN\name), UPN, DN or SID.
    type: str
    required: true
  encryption_types:
    description:
      - The ciphers service tickets for O(account) may use.
      - V(rc4) only by explicit choice, and always warned about (the warning names CVE-2026-20833). Use
        it only for a client that cannot do AES, and only together with AES.
      - An AES ticket needs AES keys on the account. An account whose password was last set before
        the domain had AES (Windows Server 2008 domain functional level) has RC4 keys only; set its
        password again (on every node that uses it) before restricting it to AES.
      - When not given, V([aes128, aes256]) with O(state=present); not allowed with O(state=absent).
    type: list
    elements: str
    choices: [aes128, aes256, rc4]
  state:
    description:
      - V(present) sets the cipher bits of O(encryption_types) and keeps every other bit.
      - V(absent) removes the attribute with all its flags, so the KDC's default applies to the account again
        (C(DefaultDomainSupportedEncTypes), which is RC4 on domain controllers before the January 2026 updates and
        AES only on those that enforce CVE-2026-20833). The rollback playbook uses it for an account whose attribute
        was not set before a run; the task warns what the default means.
    type: str
    choices: [present, absent]
    default: present
attributes:
  check_mode:
    support: full
    description: Reads and predicts exactly; writes nothing.
  diff_mode:
    support: full
    description: The attribute before and after, its value and its flags by name.
  platform:
    support: full
    platforms: posix
    description: Runs where the task runs, usually the Ansible controller.
seealso:
  - module: webfarm.winauth.spn
  - module: webfarm.winauth.negotiate_probe
  - name: KB5073381, Kerberos RC4 hardening for CVE-2026-20833
    description: Microsoft's schedule of the RC4 switch-off on domain controllers.
    link: https://support.microsoft.com/help/5073381
notes:
  - Tickets already issued keep their cipher until they expire; clients get tickets of the new kind
    after C(klist purge) or within their ticket lifetime (10 hours by default).
  - A Windows computer writes its own C(msDS-SupportedEncryptionTypes) from its policy
    (I(Network security - Configure encryption types allowed for Kerberos)); for a computer account the
    module warns that the value may be overwritten.
"""

EXAMPLES = r"""
- name: The farm's identity gets AES tickets only (the default)
  webfarm.winauth.kerberos_encryption:
    account: cam-svc
  delegate_to: localhost
  run_once: true

- name: A gMSA, the same
  webfarm.winauth.kerberos_encryption:
    account: CAMTEST\farm-gmsa$
  delegate_to: localhost
  run_once: true

- name: RC4 as well, for one client that cannot do AES (warned, CVE-2026-20833)
  webfarm.winauth.kerberos_encryption:
    account: cam-svc
    encryption_types: [aes128, aes256, rc4]
  delegate_to: localhost
  run_once: true

- name: Back to the domain's default (the attribute removed), as before the farm set it
  webfarm.winauth.kerberos_encryption:
    account: cam-svc
    state: absent
  delegate_to: localhost
  run_once: true
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
supported_encryption_types:
  description: C(msDS-SupportedEncryptionTypes) after the task (predicted in check mode); null when it is not set.
  returned: success
  type: int
  sample: 24
flags:
  description: Its flags by name after the task.
  returned: success
  type: list
  elements: str
  sample: [AES128-CTS-HMAC-SHA1-96, AES256-CTS-HMAC-SHA1-96]
previous_flags:
  description: Its flags by name before the task; empty when the attribute was not set.
  returned: success
  type: list
  elements: str
  sample: [RC4-HMAC]
supported_encryption_types_before:
  description:
    - C(msDS-SupportedEncryptionTypes) before the task; null when the attribute was not set (which a
      rollback puts back by clearing it, so the KDC's default applies again).
    - The change plan's journal (M(webfarm.winauth.change_plan) callback) records it.
  returned: success
  type: int
  sample: 4
object_sid:
  description: The account's objectSid, which names it in the change plan's journal.
  returned: success
  type: str
  sample: S-1-5-21-1004336348-1177238915-682003330-1105
"""

from ansible_collections.webfarm.winauth.plugins.module_utils._directory.encryption import (  # noqa: E402
    EncryptionTask,
    ensure_encryption,
)
from ansible_collections.webfarm.winauth.plugins.module_utils._directory.encryption_rules import (  # noqa: E402
    CHOICES,
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
            "encryption_types": {"type": "list", "elements": "str", "choices": sorted(CHOICES)},
            "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        },
    )
    task = EncryptionTask(account=module.params["account"], encryption_types=module.params["encryption_types"],
                          state=module.params["state"])
    try:
        ciphers = task.ciphers()  # every input error, before any network traffic
    except WinauthError as exc:
        fail_module(module, exc)
    module.run(lambda conn: ensure_encryption(conn, task, ciphers, module.check_mode))


if __name__ == "__main__":
    main()
