# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # Windows and anonymous authentication of a site or application: webfarm.winauth.web_auth and
    # webfarm.winauth.web_node plan them with the same planner, so they take the same options.
    DOCUMENTATION = r"""
options:
  windows:
    description:
      - Windows authentication. Options left out are not managed.
    type: dict
    suboptions:
      enabled:
        description: Turn Windows authentication on or off.
        type: bool
      use_app_pool_credentials:
        description:
          - C(useAppPoolCredentials). With kernel mode on, decrypt Kerberos tickets with the application
            pool identity's keys instead of the computer account's. Needed when the SPN is registered on
            a domain pool identity and kernel mode is on.
        type: bool
      use_kernel_mode:
        description:
          - C(useKernelMode). Authenticate in HTTP.sys (true, the IIS default) or in the worker process.
        type: bool
      providers:
        description:
          - The providers, in order, exactly (the list replaces the inherited one). Each of V(Negotiate),
            V(NTLM), V(Negotiate:Kerberos), at most once.
          - V([NTLM]) is NTLM-only mode.
        type: list
        elements: str
      auth_persist_single_request:
        description:
          - C(authPersistSingleRequest). Authenticate every request again instead of once per connection.
          - Required behind a proxy that shares its back-end connections between clients (ARR). With
            V(false), IIS keeps an NTLM authentication for the whole connection and serves the next
            request on it, whoever sent it, as that user (see O(behind_proxy)). Costs an NTLM handshake
            per request.
        type: bool
      auth_persist_non_ntlm:
        description:
          - C(authPersistNonNTLM). Keep a Kerberos authentication for the connection instead of
            re-authenticating each request.
        type: bool
      extended_protection:
        description:
          - Extended Protection for Authentication (channel binding and service binding).
        type: dict
        suboptions:
          token_checking:
            description:
              - V(None) (off), V(Allow) (checked when the client sends a binding) or V(Require).
              - V(Require) refuses clients that send no channel binding token; with TLS offloaded at a
                load balancer the binding cannot match, so use V(None) or set O(windows.extended_protection.flags)
                V(Proxy) with the allowed O(windows.extended_protection.spns).
            type: str
            choices: [None, Allow, Require]
          flags:
            description:
              - Any of V(Proxy), V(NoServiceNameCheck), V(AllowDotlessSpn), V(ProxyCohosting); an empty list
                clears them.
            type: list
            elements: str
            choices: [Proxy, NoServiceNameCheck, AllowDotlessSpn, ProxyCohosting]
          spns:
            description:
              - The service names accepted in service binding, exactly (C(HTTP/sso.example.com)).
            type: list
            elements: str
  behind_proxy:
    description:
      - The site is a content server reached through a reverse proxy that sends many clients' requests
        over the same back-end connections (an ARR web farm; the C(webfarm.winauth.arr_farm) role sets it
        for its content servers).
      - IIS authenticates NTLM once per connection unless C(authPersistSingleRequest=true), and
        Kerberos once per connection when C(authPersistNonNTLM=true). Behind such a proxy a kept
        authentication serves other clients' requests as the user who authenticated the connection.
        With V(true) the module warns when the resulting settings allow that. Nothing else changes.
    type: bool
    default: false
  anonymous:
    description:
      - Anonymous authentication. Options left out are not managed.
    type: dict
    suboptions:
      enabled:
        description: Turn anonymous authentication on or off.
        type: bool
      username:
        description:
          - The account anonymous requests run as. V('') runs them as the application pool identity
            (recommended, and what an ARR front door with a domain pool identity needs); V(IUSR) is the
            built-in anonymous account.
          - Another account needs O(anonymous.password). When it becomes V('') or V(IUSR), a stored
            password is cleared.
        type: str
      password:
        description:
          - The password of O(anonymous.username), when that is a specific account. Compared on the host,
            never read back, never shown.
        type: str
"""
