#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: password_check
short_description: Prove a pool identity's password with one Kerberos logon before any node gets it
version_added: 0.2.0
description:
  - Before a play gives a domain account's password to application pools on N web nodes, proves it
    once from where this task runs (usually the controller) with one Kerberos AS exchange for the
    account. A wrong password fails here, naming the account, before any node is touched; without
    this check each node would store it and every pool would fail to start (HTTP 503), and each
    node's logon attempt would count against the account's lockout threshold.
  - Reads first, over the directory connection, and refuses to try when the attempt cannot succeed
    or could lock the account. A disabled account, a locked-out account and an expired password each
    fail with one line. When the account's lockout threshold (its password settings object's, else
    the domain's C(lockoutThreshold)) is one failure away (C(badPwdCount), unless the observation
    window since C(badPasswordTime) has passed), nothing is tried and the task says how to proceed.
  - The ticket obtained stays in the module's memory and is dropped with it; no credential cache is
    written. The password is never shown in results, warnings or errors.
  - The Kerberos exchange uses this host's Kerberos configuration (C(KRB5_CONFIG) or
    C(/etc/krb5.conf)) to reach a KDC of the account's realm, and the Python package C(krb5).
author:
  - webfarm.winauth maintainers (@webfarm)
extends_documentation_fragment:
  - webfarm.winauth.ad
options:
  account:
    description:
      - The account whose password is proven, as C(DOMAIN\\name), a UPN, a sAMAccountName or a DN.
      - A group managed service account (C(name$)) has no password to prove and is refused.
    type: str
    required: true
  account_password:
    description:
      - The password to prove. Never shown.
    type: str
    required: true
attributes:
  check_mode:
    support: full
    description:
      - The check runs in check mode too, so a dry run of a play that would push a wrong password fails.
        Nothing is written; the KDC counts a wrong password as one failed logon, as any logon does, and the
        lockout guard keeps that attempt from locking the account.
  diff_mode:
    support: none
    description: Nothing is changed, so there is nothing to diff.
  platform:
    support: full
    platforms: posix
    description: Runs where the task runs, usually the Ansible controller.
seealso:
  - module: webfarm.winauth.app_pool
  - module: webfarm.winauth.domain_info
notes:
  - C(badPwdCount) is not replicated between domain controllers; a DC other than the PDC emulator may
    show a lower count than the one that locks the account. Point O(server) at the PDC emulator to read
    the count that counts.
"""

EXAMPLES = r"""
- name: Prove the shared account's password once, on the controller, before the nodes get it
  webfarm.winauth.password_check:
    account: CAMTEST\cam-svc
    account_password: "{{ vault_cam_svc_password }}"
  run_once: true
  delegate_to: localhost

- name: Then give it to every node's pool
  webfarm.winauth.app_pool:
    name: SSOPool
    identity: SpecificUser
    username: CAMTEST\cam-svc
    password: "{{ vault_cam_svc_password }}"
"""

RETURN = r"""
proven:
  description: C(true) when the KDC accepted the password (the task fails otherwise).
  returned: success
  type: bool
  sample: true
principal:
  description: The Kerberos principal the AS exchange was for.
  returned: success
  type: str
  sample: cam-svc@CAMTEST.LOCAL
account:
  description: What was read before the attempt (also returned when the KDC refused the password, as read after it).
  returned: success and failure after an attempt
  type: dict
  contains:
    name:
      description: The account as C(DOMAIN\\sAMAccountName).
      type: str
      sample: CAMTEST\cam-svc
    bad_password_count:
      description: C(badPwdCount) on the DC that answered.
      type: int
      sample: 0
    lockout_threshold:
      description: Failed logons that lock the account; C(0) when the policy never locks.
      type: int
      sample: 5
    attempts_left:
      description: Failures the account can take before it locks; C(null) when the policy never locks.
      type: int
      sample: 5
    policy:
      description: Where the threshold comes from (the domain, or a password settings object).
      type: str
      sample: the domain's password policy
"""

from ansible_collections.webfarm.winauth.plugins.module_utils._directory.module import ADModule  # noqa: E402
from ansible_collections.webfarm.winauth.plugins.module_utils._directory.password import check_password  # noqa: E402


def main() -> None:
    module = ADModule(
        argument_spec={
            "account": {"type": "str", "required": True},
            "account_password": {"type": "str", "required": True, "no_log": True},
        },
    )
    module.run(lambda conn: check_password(conn, module.params["account"], module.params["account_password"],
                                           parameter="account_password"))


if __name__ == "__main__":
    main()
