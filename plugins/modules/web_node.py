#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: web_node
short_description: A web node's authentication, application pool identity and user rights, in one remote command
version_added: 0.2.0
description:
  - Manages what a web farm node needs for Integrated Windows Authentication in one task - the site's
    Windows and anonymous authentication (as M(webfarm.winauth.web_auth)), the identity of the
    application pool that serves it (as M(webfarm.winauth.app_pool)) and the check that this identity
    effectively holds the user rights it needs (as M(webfarm.winauth.policy_refresh)) - with the same
    planners, the same diff and the same check mode as those modules.
  - On Windows every remote command pays PowerShell's start-up. This module reads the whole node in
    B(one) command (the IIS configuration and, with C(secedit /export /mergedpolicy), who holds the
    rights) and, when something changes, writes it in one more, the pool's restart included. When policy
    must be refreshed (O(policy_refresh)), C(gpupdate /force) runs in between, in one command that also
    reads the rights again. The roles C(webfarm.winauth.lb_farm) and C(webfarm.winauth.arr_farm) use it
    for their nodes; the single modules stay for plays that compose their own steps.
  - Before any write, the task fails when the pool does not serve the site (O(app_pool.must_serve)), since its
    identity would not be the account that decrypts the site's Kerberos tickets. It fails too when a
    required account does not hold its right (O(require), O(on_missing=fail)) after any refresh, since a
    worker process that cannot log on as a batch job stops the pool and the site answers 503.
  - The configuration edits of the authentication and of the pool are committed together; the restart
    (O(restart)) runs after the commit, only when something was changed or policy was refreshed, and only
    when the identity holds its required rights.
author:
  - webfarm.winauth maintainers (@webfarm)
extends_documentation_fragment:
  - webfarm.winauth.web_authentication
options:
  site:
    description:
      - The IIS site, by name (case-insensitive). It must exist.
    type: str
    required: true
  application:
    description:
      - An application of the site, by its path (V(/app) or V(app)); omit for the whole site.
    type: str
  app_pool:
    description:
      - The application pool that serves the site and the identity it runs as. Omit to leave pools alone.
      - Other settings of the pool are not managed here (see M(webfarm.winauth.app_pool)).
    type: dict
    suboptions:
      name:
        description: The pool, by name (case-insensitive). It must exist when O(app_pool.must_serve=true).
        type: str
        required: true
      identity:
        description: The identity type, as M(webfarm.winauth.app_pool) takes it.
        type: str
        choices: [ApplicationPoolIdentity, NetworkService, LocalService, LocalSystem, SpecificUser]
      username:
        description:
          - The account of O(app_pool.identity=SpecificUser) (C(DOMAIN\\name), or C(DOMAIN\\name$) for a gMSA,
            which needs no password).
        type: str
      password:
        description:
          - The account's password. Compared on the host, never read back, never shown; sent only over an
            encrypted connection.
        type: str
      update_password:
        description: V(always) compares the password on every run; V(on_create) sets it only with a new account.
        type: str
        choices: [always, on_create]
        default: always
      must_serve:
        description: Fail before any write unless the site (or O(application)) runs in this pool.
        type: bool
        default: true
  rights:
    description:
      - User rights to report (V(SeBatchLogonRight), ...), read in the same command as the configuration.
    type: list
    elements: str
    default: []
  require:
    description:
      - "Rights mapped to the accounts that must hold them on the node, for example
        C({SeBatchLogonRight: [CAMTEST\\cam-svc]}), matched as M(webfarm.winauth.policy_refresh) matches them
        (group membership is not expanded)."
    type: dict
  on_missing:
    description:
      - What a required account without its right does, after any refresh. V(fail) fails the task before
        any write; V(warn) applies the rest, warns, and does not restart the pool.
      - In check mode a missing right is a warning when a refresh would run first.
    type: str
    choices: [fail, warn]
    default: fail
  policy_refresh:
    description:
      - When to run C(gpupdate /force) (computer policy) before planning. V(missing) - when a required right
        is missing (a GPO that grants it may not have been applied yet); V(always) - for example after the
        play changed the GPO; V(never).
      - A refresh counts as a change and restarts the pool (O(restart)), so that the worker process gets the
        right.
    type: str
    choices: [never, missing, always]
    default: never
  refresh_wait:
    description: Seconds C(gpupdate) waits for policy processing to finish (0 to 600).
    type: int
    default: 600
  restart:
    description:
      - Restart (V(restarted), stop then start) or recycle (V(recycled)) the pool in the same apply, after the
        configuration is committed, when something changed or policy was refreshed. V(none) never does.
      - Needs O(app_pool).
    type: str
    choices: [none, recycled, restarted]
    default: none
attributes:
  check_mode:
    support: full
    description: One read, no gpupdate, no write; the diff and RV(changes) show what would be done.
  diff_mode:
    support: full
    description: Each managed attribute before and after (authentication and pool); secrets only as changed or not.
  platform:
    support: full
    platforms: windows
    description: Runs on the controller and reaches the host through its connection; needs a local administrator.
seealso:
  - module: webfarm.winauth.web_auth
  - module: webfarm.winauth.app_pool
  - module: webfarm.winauth.policy_refresh
notes:
  - Remote commands (RV(remote_calls)) - one when nothing changes, two when something does, one more when
    policy is refreshed.
"""

EXAMPLES = r"""
- name: A node of an L4 farm - authentication, shared identity and its batch-logon right in one command
  webfarm.winauth.web_node:
    site: Default Web Site
    windows:
      enabled: true
      use_kernel_mode: true
      use_app_pool_credentials: true
      providers: [Negotiate, NTLM]
    anonymous:
      enabled: false
    app_pool:
      name: sso
      identity: SpecificUser
      username: CAMTEST\cam-svc
      password: "{{ vault_cam_svc_password }}"
    require:
      SeBatchLogonRight: ['CAMTEST\cam-svc']
    policy_refresh: missing
    restart: restarted

- name: Only check that a gMSA pool's identity may log on as a batch job (no authentication managed)
  webfarm.winauth.web_node:
    site: Default Web Site
    app_pool:
      name: sso
      identity: SpecificUser
      username: CAMTEST\web-gmsa$
    require:
      SeBatchLogonRight: ['CAMTEST\web-gmsa$']
"""

RETURN = r"""
location:
  description: The IIS location path of the site or application, with the site name as IIS spells it.
  returned: success
  type: str
  sample: Default Web Site
application:
  description: The application path (C(/) for the site itself).
  returned: success
  type: str
  sample: /
authentication:
  description: Whether the task manages the site's authentication and whether it changed (or would).
  returned: success
  type: dict
  sample: {"managed": true, "changed": false}
app_pool:
  description:
    - The pool as M(webfarm.winauth.app_pool) reports it (C(name), C(existed), C(identity), C(username),
      C(applications), C(runtime_state), ...), with C(changed) (its configuration changed) and C(restarted)
      (a start, stop or recycle rode in the apply).
  returned: when O(app_pool) is given
  type: dict
rights:
  description: The effective holders of each right asked for (O(rights) and O(require)), after any refresh.
  returned: success
  type: dict
  sample: {"SeBatchLogonRight": [{"sid": "S-1-5-21-1-2-3-1105", "name": "CAMTEST\\cam-svc"}]}
missing:
  description: For each required right, the accounts that do not hold it (empty when all do).
  returned: success, and when the task fails because a required right is missing
  type: dict
  sample: {}
refresh:
  description: Whether policy was refreshed (in check mode - would be).
  returned: success
  type: bool
refreshed:
  description: Whether C(gpupdate /force) ran.
  returned: success, and when the task fails because a required right is missing
  type: bool
gpupdate:
  description: gpupdate's outcome (C(succeeded), C(rc), C(restart_required), C(output)).
  returned: when gpupdate ran
  type: dict
changes:
  description: The edits made (or, in check mode, that would be made); secrets are never shown.
  returned: success
  type: list
  elements: str
remote_calls:
  description: Remote commands run on the host for this task.
  returned: always
  type: int
  sample: 1
before:
  description:
    - The state before the task of each thing it changed, one entry each, as M(webfarm.winauth.web_auth) and
      M(webfarm.winauth.app_pool) return it (for the change record's journal and the rollback).
  returned: success
  type: list
  elements: dict
after:
  description: The same entries as RV(before), with the state the task leaves.
  returned: success
  type: list
  elements: dict
"""
