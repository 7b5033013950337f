#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: policy_refresh
short_description: Refresh Group Policy on a Windows host and check who holds user rights there
version_added: 0.1.0
description:
  - Runs C(gpupdate /force) on the host (computer policy by default) through its own Ansible connection
    and reports the outcome; C(gpupdate) is answered "no" if it asks to log off or restart, and the
    module warns instead.
  - On request, reports the B(effective) holders of user rights on the host
    (C(secedit /export /mergedpolicy), that is local policy with the domain policy last applied, where a
    right a GPO defines replaces the local holders), as SIDs and names.
  - With O(require), fails when an account does not hold a right, naming the host, the right and the
    missing accounts; for example, that the application pool identity holds C(SeBatchLogonRight) before
    M(webfarm.winauth.app_pool) starts the pool (without it the pool's worker process cannot log on and
    the site answers 503).
  - User rights assignment is computer policy. A GPO grants it to the computers under the OU it is
    linked to, so the host's computer account must be in (or under) the linked OU.
  - Check mode runs no C(gpupdate) and only reports the current holders; a missing holder is then a
    warning, since the real run may still bring it.
author:
  - webfarm.winauth maintainers (@webfarm)
options:
  refresh:
    description:
      - Run C(gpupdate /force). V(false) only reports and checks the current holders.
    type: bool
    default: true
  target:
    description: Which half of policy to refresh.
    type: str
    choices: [computer, user, both]
    default: computer
  wait:
    description: Seconds C(gpupdate) waits for policy processing to finish (C(/wait), 0 to 600).
    type: int
    default: 600
  rights:
    description:
      - User rights to report, as constants (V(SeBatchLogonRight), V(SeServiceLogonRight), ...; case-insensitive).
    type: list
    elements: str
    default: []
  require:
    description:
      - "Rights mapped to the accounts that must hold them, for example
        C({SeBatchLogonRight: [CAMTEST\\cam-svc]}). Accounts may be given as C(DOMAIN\\name),
        C(name@domain.example), C(name), a well-known name (C(BUILTIN\\IIS_IUSRS)) or a SID."
      - Holders are compared as C(secedit) lists them; membership of a group that holds the right is not
        expanded, so require the group itself when that is how the right is granted.
      - The rights are reported too.
    type: dict
    aliases: [expect_holders]
attributes:
  check_mode:
    support: full
    description: No gpupdate; reports the current holders and warns about missing ones.
  diff_mode:
    support: none
    description: Nothing is edited on the host; the result lists the holders instead.
  platform:
    support: full
    platforms: windows
    description: Runs on the controller and reaches the host through its connection; needs a local administrator.
seealso:
  - module: webfarm.winauth.gpo_user_rights
  - module: webfarm.winauth.gpo_link
  - module: webfarm.winauth.app_pool
notes:
  - C(changed) is true whenever policy was refreshed (or would be, in check mode).
  - One remote command for the refresh and one to read rights (RV(remote_calls)).
"""

EXAMPLES = r"""
- name: Apply the batch-logon GPO now and make sure the pool identity holds the right
  webfarm.winauth.policy_refresh:
    require:
      SeBatchLogonRight: ['CAMTEST\cam-svc']

- name: Then start the pool
  webfarm.winauth.app_pool:
    name: sso
    state: started

- name: Only report who may log on as a batch job or as a service (no refresh)
  webfarm.winauth.policy_refresh:
    refresh: false
    rights: [SeBatchLogonRight, SeServiceLogonRight]
  register: rights
"""

RETURN = r"""
refreshed:
  description: Whether gpupdate ran.
  returned: success
  type: bool
gpupdate:
  description: gpupdate's outcome.
  returned: when gpupdate ran
  type: dict
  contains:
    succeeded:
      description: Whether gpupdate exited with 0.
      type: bool
    rc:
      description: Its exit code.
      type: int
    restart_required:
      description: Whether its (English) output asks for a restart or log off.
      type: bool
    output:
      description: Its output lines (localised on Windows).
      type: list
      elements: str
rights:
  description: The effective holders of each right asked for (O(rights) and O(require)).
  returned: success
  type: dict
  sample: {"SeBatchLogonRight": [{"sid": "S-1-5-21-1-2-3-1105", "name": "CAMTEST\\cam-svc"}]}
missing:
  description: For each required right, the accounts that do not hold it (empty when all do).
  returned: success
  type: dict
  sample: {}
remote_calls:
  description: Remote commands run on the host for this task.
  returned: always
  type: int
  sample: 2
"""
