#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: app_pool
short_description: An IIS application pool, its identity and runtime state
version_added: 0.1.0
description:
  - Creates, changes or removes an application pool in C(applicationHost.config)
    (C(system.applicationHost/applicationPools)) on Windows hosts reached through their own Ansible
    connection, and starts, stops, restarts or recycles it.
  - A new pool is written as C(<add name="..." />) plus the settings given, so everything else comes
    from the server's C(applicationPoolDefaults) (on IIS 10, .NET CLR v4.0, integrated pipeline,
    ApplicationPoolIdentity, started automatically), as IIS Manager does.
  - "The identity: V(ApplicationPoolIdentity) (a virtual account per pool, the default), the built-in
    V(NetworkService), V(LocalService) or V(LocalSystem), or V(SpecificUser) with O(username). On the
    network, ApplicationPoolIdentity and NetworkService act as the computer account (C(SERVER1$)).
    A web farm behind one name runs every node's pool as one domain account (C(CAMTEST\\cam-svc)) or a
    group managed service account (C(CAMTEST\\web-gmsa$)), which holds the farm's SPN."
  - The account must hold C(SeBatchLogonRight) (Log on as a batch job) on the host. Windows starts the
    pool anyway, but its worker process cannot log on; the first request gets 503, WAS logs event 5021
    or 5057, and rapid-fail protection then stops the pool. Grant the right with a domain GPO
    (M(webfarm.winauth.gpo_user_rights)) and check it with M(webfarm.winauth.policy_refresh) before
    starting the pool.
  - The password is compared on the host (Microsoft.Web.Administration decrypts the stored one there);
    it is never read back, shown, logged or returned. With O(update_password=on_create) it is sent only
    when the pool is created or its account changes.
  - When the identity becomes a built-in one or a gMSA, the stored user name and password are cleared,
    so no stale secret stays in the file.
  - Warns when the pool runs as a domain account while Windows authentication, at a site or
    application that uses the pool, would still decrypt Kerberos tickets with the computer account's
    keys (C(useKernelMode=true), C(useAppPoolCredentials=false)); see M(webfarm.winauth.web_auth).
author:
  - webfarm.winauth maintainers (@webfarm)
options:
  name:
    description: The pool's name (case-insensitive).
    type: str
    required: true
  state:
    description:
      - V(present) makes sure the pool exists with the settings given, without touching its runtime state.
      - V(absent) removes it (applications that still use it then answer 503; the module warns).
      - V(started) and V(stopped) also set its runtime state; V(restarted) stops and starts it (or starts
        it when stopped) and V(recycled) recycles it (or starts it when stopped). Those two always change.
    type: str
    choices: [present, absent, started, stopped, restarted, recycled]
    default: present
  identity:
    description:
      - C(processModel identityType). Not managed when left out (a new pool gets the server default),
        except that O(username) alone implies V(SpecificUser).
    type: str
    choices: [ApplicationPoolIdentity, NetworkService, LocalService, LocalSystem, SpecificUser]
  username:
    description:
      - The account of a V(SpecificUser) identity, as C(DOMAIN\\user), C(user@domain.example), or a gMSA as
        C(DOMAIN\\name$) (no password; Windows fetches it from the domain).
    type: str
  password:
    description:
      - The account's password. Required when a pool gets a (non-gMSA) account; compared on the host.
    type: str
  update_password:
    description:
      - V(always) compares the password with the stored one on every run and sets it when it differs.
      - V(on_create) sets it only when the pool is created or its account changes.
    type: str
    choices: [always, on_create]
    default: always
  load_user_profile:
    description:
      - C(processModel loadUserProfile). Load the identity's user profile (its temp folder and key store);
        recommended for domain identities.
    type: bool
  idle_timeout:
    description:
      - C(processModel idleTimeout), a .NET time span (C(00:20:00)) or a whole number of minutes (C(20));
        C(00:00:00) or C(0) keeps the worker process running when idle.
    type: str
  idle_timeout_action:
    description: C(processModel idleTimeoutAction).
    type: str
    choices: [Terminate, Suspend]
  periodic_restart:
    description: C(recycling/periodicRestart). Options left out are not managed.
    type: dict
    suboptions:
      time:
        description: Recycle after this time span (C(1.05:00:00) is the default; C(00:00:00) turns it off).
        type: str
      requests:
        description: Recycle after this many requests (0 turns it off).
        type: int
      memory:
        description: Recycle at this virtual memory, in KB (0 turns it off).
        type: int
      private_memory:
        description: Recycle at this private memory, in KB (0 turns it off).
        type: int
      schedule:
        description: Recycle at these times of day (C(03:00:00)), exactly; an empty list clears them.
        type: list
        elements: str
  managed_runtime_version:
    description: C(managedRuntimeVersion); V('') is "No Managed Code", V(v4.0) the .NET CLR 4.
    type: str
  managed_pipeline_mode:
    description: C(managedPipelineMode).
    type: str
    choices: [Integrated, Classic]
  start_mode:
    description: C(startMode).
    type: str
    choices: [OnDemand, AlwaysRunning]
  auto_start:
    description: C(autoStart). Whether WAS starts the pool when it starts (and when the pool is created).
    type: bool
attributes:
  check_mode:
    support: full
    description: Reads once and predicts the exact configuration edits and runtime actions; writes nothing.
  diff_mode:
    support: full
    description: Attribute-level before and after, the runtime state, and secrets as (secret, set/changed).
  platform:
    support: full
    platforms: windows
    description: Runs on the controller and reaches the host through its connection; the host needs IIS 10.
seealso:
  - module: webfarm.winauth.web_auth
  - module: webfarm.winauth.policy_refresh
  - module: webfarm.winauth.gpo_user_rights
  - name: IIS modules (docs/iis-modules.md)
    description: Pool identities, the batch-logon right and 503, kernel mode.
    link: https://github.com/webfarm/winauth/blob/main/docs/iis-modules.md
notes:
  - One remote command when nothing changes, two when something does (RV(remote_calls)), runtime actions included.
"""

EXAMPLES = r"""
- name: The farm's pool runs as the shared domain account on every node (seed 001)
  webfarm.winauth.app_pool:
    name: sso
    identity: SpecificUser
    username: CAMTEST\cam-svc
    password: "{{ cam_svc_password }}"
    load_user_profile: true
    idle_timeout: "00:00:00"
    periodic_restart:
      time: "00:00:00"
      schedule: ["03:00:00"]
    state: started

- name: Or as a group managed service account (no password)
  webfarm.winauth.app_pool:
    name: sso
    identity: SpecificUser
    username: CAMTEST\web-gmsa$

- name: Recycle it
  webfarm.winauth.app_pool:
    name: sso
    state: recycled

- name: Remove a pool
  webfarm.winauth.app_pool:
    name: old-pool
    state: absent
"""

RETURN = r"""
name:
  description: The pool's name, as IIS spells it.
  returned: success
  type: str
  sample: sso
existed:
  description: Whether the pool existed before the task.
  returned: success
  type: bool
exists:
  description: Whether it exists after the task (or would, in check mode).
  returned: success
  type: bool
runtime_state:
  description:
    - Its runtime state after the task (C(Started), C(Stopped), ...); null for a new pool left to WAS.
  returned: when state is not absent
  type: str
  sample: Started
runtime_state_before:
  description: Its runtime state before the task (null when it did not exist).
  returned: when state is not absent
  type: str
  sample: Stopped
identity:
  description: The identity type after the task.
  returned: when state is not absent
  type: str
  sample: SpecificUser
username:
  description: The account of a SpecificUser identity (never the password).
  returned: when state is not absent
  type: str
  sample: CAMTEST\cam-svc
applications:
  description: The sites and applications (IIS location paths) that use the pool.
  returned: success
  type: list
  elements: str
  sample: [Default Web Site]
changes:
  description: The edits and runtime actions made (or that would be made); secrets are never shown.
  returned: always
  type: list
  elements: str
remote_calls:
  description: Remote commands run on the host for this task (1 when nothing changes, 2 when something does).
  returned: always
  type: int
  sample: 1
identity_before:
  description: The pool's identity type before the task (V(null) for a pool the task creates).
  returned: success and O(state) is not V(absent)
  type: str
  sample: ApplicationPoolIdentity
username_before:
  description: The pool's account before the task when its identity was C(SpecificUser), else V(null).
  returned: success and O(state) is not V(absent)
  type: str
  sample: CAMTEST\\cam-svc
password_changed:
  description:
    - Whether the task set (or cleared) the pool's stored password. The password itself is never returned, so a
      rollback cannot restore it and refuses to; set it again with this module.
  returned: success and O(state) is not V(absent)
  type: bool
  sample: false
before:
  description:
    - The state before the task of each thing it changed (or, in check mode, would change), one entry each, for the
      change record's journal and the rollback. Returned with or without C(--diff); empty when nothing changes.
    - Each entry has C(object) (the key the change plan uses), C(kind), C(section), C(location) (C("") for the
      server), C(path) (inside the section, collection items as their key) and C(name) (the attribute, collection or
      item element).
    - C(kind=attribute) adds C(value) and C(source) - C(local) (set at that location), C(inherited) (from a parent
      path) or C(default) (the schema's) - so that a rollback can remove a local setting rather than write a default.
    - C(kind=collection) adds C(items), each with C(values) (what the item sets itself) and C(inherited).
    - C(kind=item) adds C(exists) (and C(values) of an item that is removed).
    - C(kind=secret) adds only C(set) (whether a value was stored); a secret is never returned.
    - C(kind=runtime) adds C(state) (the pool's runtime state, V(null) for a pool the task creates) and C(exists).
  returned: success
  type: list
  elements: dict
  sample:
    - {"object": "iis:system.webServer/security/authentication/windowsAuthentication@Default Web Site::enabled",
       "kind": "attribute", "section": "system.webServer/security/authentication/windowsAuthentication",
       "location": "Default Web Site", "path": [], "name": "enabled", "value": false, "source": "inherited"}
after:
  description:
    - The same entries as RV(before), with the state the task leaves (C(source) is C(local) for an attribute it set;
      a secret only says C(set) and C(changed)).
  returned: success
  type: list
  elements: dict
"""
