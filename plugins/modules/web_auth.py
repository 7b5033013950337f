#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: web_auth
short_description: Windows and anonymous authentication of an IIS site or application
version_added: 0.1.0
description:
  - Sets C(system.webServer/security/authentication/windowsAuthentication) and
    C(anonymousAuthentication) for one IIS site, or one application of it, on Windows hosts reached
    through their own Ansible connection (WinRM, PSRP, or SSH with PowerShell).
  - Both sections are locked for web.config files on a fresh server (C(overrideModeDefault=Deny)),
    so the settings are written where IIS Manager and C(appcmd ... /commit:apphost) write them, in
    C(applicationHost.config) under C(<location path="Site">) or C(<location path="Site/app">). No
    web.config is ever written and the lock is left alone.
  - "Kernel mode and O(windows.use_app_pool_credentials): with kernel-mode authentication on (the
    default since IIS 7), HTTP.sys authenticates requests before they reach the worker process and
    decrypts Kerberos service tickets with the B(computer account's) keys, unless
    C(useAppPoolCredentials=true), which makes HTTP.sys use the B(application pool identity's) keys.
    With kernel mode off, authentication runs in the worker process, as the pool identity, so tickets
    decrypt with that identity's keys and C(useAppPoolCredentials) has no effect."
  - "In a web farm the SPN of the shared name (C(HTTP/sso.example.com)) is registered once, on the
    shared domain pool identity, so the ticket is encrypted for that account: each node must decrypt
    with the pool identity's keys. Either C(use_kernel_mode=true) with C(use_app_pool_credentials=true)
    (recommended on IIS 10: kernel-mode performance, and the account's keys) or C(use_kernel_mode=false)
    works. Seed 001's C(useKernelMode=false) with C(useAppPoolCredentials=true) works too: the second
    setting is then inert, and authentication moves into the worker process, giving up kernel-mode
    performance. The one setting that fails is the default: kernel mode on without C(useAppPoolCredentials) and a
    domain pool identity (401 after a valid ticket). The module warns about it, and so does
    M(webfarm.winauth.app_pool)."
  - Providers are an ordered list. V(Negotiate) offers Kerberos with NTLM fallback; V(NTLM) alone is
    NTLM-only mode (seeds 000 and 004), which needs no SPN and no delegation but gives no Kerberos;
    V(Negotiate:Kerberos) offers Kerberos only, without NTLM fallback.
  - The diff shows each managed attribute before and after, marking values that come from the schema
    default or are inherited from the server level as such.
  - A missing site or application fails the task before anything is written, naming the ones that exist.
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
      - It must be an application of the site; its settings go under C(<location path="Site/app">).
    type: str
attributes:
  check_mode:
    support: full
    description: Reads once and predicts the exact edits; writes nothing.
  diff_mode:
    support: full
    description: Attribute-level before and after, with schema defaults and inherited values marked.
  platform:
    support: full
    platforms: windows
    description: Runs on the controller and reaches the host through its connection; the host needs IIS 10.
seealso:
  - module: webfarm.winauth.app_pool
  - module: webfarm.winauth.spn
  - name: IIS modules (docs/iis-modules.md)
    description: Kernel mode and useAppPoolCredentials, providers, extended protection, location tags.
    link: https://github.com/webfarm/winauth/blob/main/docs/iis-modules.md
notes:
  - One remote command when nothing changes, two when something does (RV(remote_calls)).
  - When both anonymous and Windows authentication are enabled, IIS serves requests anonymously and
    challenges only where authorization refuses the anonymous user; the module warns.
"""

EXAMPLES = r"""
- name: Content nodes of the L4 farm (seed 001) - Windows authentication with the pool identity's keys
  webfarm.winauth.web_auth:
    site: Default Web Site
    windows:
      enabled: true
      use_kernel_mode: false
      use_app_pool_credentials: true
      providers: [Negotiate, NTLM]
    anonymous:
      enabled: false

- name: Same, keeping kernel mode on (recommended on IIS 10)
  webfarm.winauth.web_auth:
    site: Default Web Site
    windows:
      enabled: true
      use_kernel_mode: true
      use_app_pool_credentials: true

- name: NTLM-only mode for one application (no SPN needed)
  webfarm.winauth.web_auth:
    site: Default Web Site
    application: /intranet
    windows:
      enabled: true
      providers: [NTLM]

- name: ARR front door - anonymous as the pool identity, no Windows authentication
  webfarm.winauth.web_auth:
    site: Default Web Site
    anonymous:
      enabled: true
      username: ""
    windows:
      enabled: false

- name: Content server behind ARR, NTLM-only - authenticate every request (never one user's connection for another)
  webfarm.winauth.web_auth:
    site: Default Web Site
    behind_proxy: true
    windows:
      enabled: true
      providers: [NTLM]
      auth_persist_single_request: true

- name: Require extended protection
  webfarm.winauth.web_auth:
    site: Default Web Site
    windows:
      extended_protection:
        token_checking: Require
"""

RETURN = r"""
location:
  description: The IIS location path written to, with the site name as IIS spells it.
  returned: success
  type: str
  sample: Default Web Site/intranet
application:
  description: The application path (C(/) for the site itself).
  returned: success
  type: str
  sample: /intranet
changes:
  description: The edits made (or, in check mode, that would be made); secrets are never shown.
  returned: always
  type: list
  elements: str
  sample:
    - "set useAppPoolCredentials=true (system.webServer/security/authentication/windowsAuthentication @ Default Web Site)"
remote_calls:
  description: Remote commands run on the host for this task (1 when nothing changes, 2 when something does).
  returned: always
  type: int
  sample: 1
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
