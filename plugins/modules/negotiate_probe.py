#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: negotiate_probe
short_description: Request a URL with Windows authentication from the controller and report what the server accepted
version_added: 0.1.0
description:
  - Makes the request a domain member's browser makes, from the controller, and reports what happened
    at the protocol level, so a play can prove that a site gives Kerberos (not just that the settings
    were applied).
  - An anonymous request first. On a C(401) that offers C(Negotiate), a Kerberos service ticket for
    C(HTTP/<host of the URL>) is requested from the KDC and sent inside SPNEGO (RFC 4559, RFC 4178)
    with mutual authentication; the server's answer token is verified. When the KDC gives no ticket
    (for example no account holds the SPN), the probe falls back to NTLM, as Negotiate does, if
    O(username) and O(password) are given. On a C(401) that offers only C(NTLM), NTLM.
  - Reports the final status and the sequence of statuses, the mechanism the server accepted (read from
    the SPNEGO tokens it sent back), the SPN the client asked for and the ticket's realm, encryption
    type and key version, the encryption type of the ticket's session key, the Kerberos error the server returned when it rejected the ticket, and which
    backend answered when a response header names it (O(backend_header)).
  - With O(expect=kerberos) the task fails on NTLM fallback or a rejected ticket, and says why; no
    account holds the SPN (the KDC's C(KDC_ERR_S_PRINCIPAL_UNKNOWN)), the ticket was encrypted for an
    account whose keys the server does not use (C(KRB_AP_ERR_MODIFIED) or C(KRB_AP_ERR_NOT_US)), the
    server offers only NTLM, anonymous authentication answered, or the application pool is down (503).
  - With O(count) the request is repeated, each time on a new TCP connection, so that a load balancer
    sends attempts to every node; RV(backends) counts the mechanisms per backend.
  - It runs on the controller (it is an action plugin), whatever host the task targets; nothing is sent
    to that host. Tokens, tickets and passwords are never returned.
author:
  - webfarm.winauth maintainers (@webfarm)
options:
  url:
    description:
      - The C(http://) or C(https://) URL to request. Its host name is the one the SPN is built from
        (C(HTTP/<host>), without the port, as browsers do), and the one TLS checks the certificate against.
    type: str
    required: true
  connect_to:
    description:
      - C(host) or C(host:port) to connect to instead of the URL's host, keeping the URL's host for the
        C(Host) header, TLS and the SPN (like C(curl --resolve)). Use it to reach one node behind a load
        balancer directly under the farm's name.
    type: str
  method:
    description: The HTTP method.
    type: str
    choices: [GET, HEAD]
    default: GET
  count:
    description:
      - How many times to make the request (1 to 100), each on a new TCP connection.
    type: int
    default: 1
  expect:
    description:
      - The mechanism the server must accept for the task to succeed.
      - V(kerberos) fails on NTLM fallback, a rejected ticket or anonymous access, with the reason.
      - V(any) only checks the status (O(expect_status)).
    type: str
    choices: [kerberos, ntlm, anonymous, any]
    default: any
  require_aes:
    description:
      - With O(expect=kerberos), also fail unless the ticket and its session key are AES (the encryption
        type of the ticket, and that of the authenticator, which is encrypted in the session key).
      - An RC4 ticket still works on a DC from before the 2026 RC4 switch-off (CVE-2026-20833); after it,
        an account that gets RC4 tickets only does because it allows RC4 explicitly. Either way it is a
        Kerberoasting target; the message names the fix (M(webfarm.winauth.kerberos_encryption)).
    type: bool
    default: false
  expect_status:
    description: The final HTTP status every attempt must end with.
    type: int
    default: 200
  expect_backends:
    description:
      - Backends (values of O(backend_header)) that at least one attempt must reach, for example the
        nodes behind a load balancer.
    type: list
    elements: str
    default: []
  fail_on_mismatch:
    description:
      - Fail the task when an expectation is not met. With V(false) the task reports RV(ok) and RV(msg)
        and succeeds, for plays that assert on the result themselves.
    type: bool
    default: true
  username:
    description:
      - The user to authenticate as (C(user@REALM) or C(DOMAIN\\user)); a Kerberos ticket is requested with
        O(password) into memory, and the same credentials allow the NTLM fallback.
      - Without O(username), O(keytab) and O(ccache), the controller's default credential cache
        (C(kinit), E(KRB5CCNAME)) is used and there is no NTLM fallback.
    type: str
  password:
    description: Password of O(username). Never logged or returned.
    type: str
  principal:
    description:
      - The client principal (C(user@REALM)) whose key O(keytab) holds, or the principal to pick from the
        credential cache.
    type: str
  keytab:
    description: A keytab with the key of O(principal); a ticket is requested into memory.
    type: path
  ccache:
    description: A Kerberos credential cache to use instead of the default one (C(FILE:/tmp/krb5cc_1000)).
    type: str
  mechanisms:
    description:
      - The mechanisms the client may use. V([ntlm]) tests the NTLM path on its own.
      - When not given, V([kerberos, ntlm]) for an C(https://) O(url) (NTLM when Kerberos cannot start, as a browser
        falls back) and V([kerberos]) for an C(http://) O(url), because there the NTLM exchange crosses the network
        unprotected (its NTLMv2 response can be cracked offline or relayed). List V(ntlm) to probe NTLM over
        C(http://) anyway; the task then warns. O(expect=ntlm) with an C(http://) O(url) needs O(mechanisms).
      - The list used is returned as RV(mechanisms).
    type: list
    elements: str
    choices: [kerberos, ntlm]
  service:
    description: The service class of the SPN.
    type: str
    default: HTTP
  spn:
    description:
      - The SPN to request a ticket for, instead of C(<service>/<host of the URL>).
    type: str
  include_port:
    description:
      - Put the URL's port in the SPN (C(HTTP/host:8443)), as browsers do only when configured to.
    type: bool
    default: false
  validate_certs:
    description: Whether to validate the server's TLS certificate.
    type: bool
    default: true
  ca_path:
    description: PEM file of the CA(s) to trust for O(validate_certs), when not in the controller's store.
    type: path
  channel_binding:
    description:
      - Send TLS channel binding (C(tls-server-end-point)) in the Kerberos and NTLM tokens over HTTPS,
        as Windows clients do (IIS checks it with extended protection).
    type: bool
    default: true
  timeout:
    description: Seconds to wait for the connection and each response (1 to 600).
    type: int
    default: 10
  backend_header:
    description:
      - A response header that names the node that answered, such as one each node adds with IIS
        C(customHeaders). It is read from every attempt into RV(backend) and RV(backends).
    type: str
    default: X-Served-By
attributes:
  check_mode:
    support: full
    description: The probe only reads; it runs the same in check mode.
  diff_mode:
    support: none
    description: Nothing is changed.
  platform:
    support: full
    platforms: posix
    description: Runs on the controller; needs the Python packages gssapi (Kerberos) and pyspnego (NTLM).
seealso:
  - module: webfarm.winauth.farm_audit
  - module: webfarm.winauth.spn
  - module: webfarm.winauth.web_auth
notes:
  - The controller must reach the KDC of the URL's realm (E(KRB5_CONFIG) points the Kerberos library at a
    krb5.conf); the SPN's realm comes from its C(domain_realm) mapping.
  - A server that rejects a ticket answers 401 with a Kerberos error in its C(WWW-Authenticate) header;
    the probe reports it and, like Windows clients, does not then fall back to NTLM.
"""

EXAMPLES = r"""
- name: Kerberos on every node behind the load balancer
  webfarm.winauth.negotiate_probe:
    url: https://sso.camtest.local/
    count: 4
    expect: kerberos
    expect_backends: [SERVER1, SERVER2]
    ca_path: /etc/pki/camtest-ca.pem
  delegate_to: localhost
  run_once: true

- name: Kerberos with AES tickets only, as after the 2026 RC4 switch-off
  webfarm.winauth.negotiate_probe:
    url: https://sso.camtest.local/
    expect: kerberos
    require_aes: true
  delegate_to: localhost
  run_once: true

- name: One node directly, under the farm's name, with a keytab
  webfarm.winauth.negotiate_probe:
    url: https://sso.camtest.local/
    connect_to: server1.camtest.local
    principal: probe@CAMTEST.LOCAL
    keytab: /etc/security/probe.keytab
    expect: kerberos

- name: The NTLM-only content servers behind ARR (seed 000, NTLM mode)
  webfarm.winauth.negotiate_probe:
    url: https://arr1.camtest.local/
    username: alice@CAMTEST.LOCAL
    password: "{{ vault_probe_password }}"
    mechanisms: [ntlm]
    expect: ntlm
  register: probe

- name: Report without failing
  webfarm.winauth.negotiate_probe:
    url: https://sso.camtest.local/
    expect: kerberos
    fail_on_mismatch: false
  register: probe

- name: Show what the probe found
  ansible.builtin.debug:
    msg: "{{ probe.msg }}"
"""

RETURN = r"""
ok:
  description: Whether every attempt met the expectations.
  returned: always
  type: bool
msg:
  description:
    - The statuses and mechanisms, or why the expectations were not met (one sentence per problem).
    - When NTLM was left out because the O(url) is C(http://) and the probe failed, the last sentence says so.
  returned: always
  type: str
  sample: "the server rejected the Kerberos ticket for HTTP/sso.camtest.local (KRB_AP_ERR_MODIFIED): ..."
mechanisms:
  description: The mechanisms the client was allowed to use (O(mechanisms), or its default for the O(url)'s scheme).
  returned: always
  type: list
  elements: str
  sample: [kerberos, ntlm]
url:
  description: The URL requested.
  returned: always
  type: str
status:
  description: The final HTTP status of the last attempt (none when the connection failed).
  returned: always
  type: int
  sample: 200
statuses:
  description: The statuses of the last attempt's requests, in order.
  returned: always
  type: list
  elements: int
  sample: [401, 200]
mechanism:
  description:
    - What the server accepted in every attempt; C(kerberos), C(ntlm), C(anonymous), C(none) (not
      authenticated), or C(mixed) when attempts differ.
  returned: always
  type: str
  sample: kerberos
spn:
  description: The SPN the client asked the KDC for.
  returned: always
  type: str
  sample: HTTP/sso.camtest.local
backend:
  description: The value of O(backend_header) in the last attempt's final response, if any.
  returned: always
  type: str
  sample: SERVER2
backends:
  description: For each backend seen, how many attempts ended with each mechanism.
  returned: always
  type: dict
  sample: {"SERVER1": {"kerberos": 2}, "SERVER2": {"kerberos": 2}}
ticket_etypes:
  description: The encryption types of the tickets sent, over all attempts (none without Kerberos).
  returned: always
  type: list
  elements: str
  sample: [aes256-cts-hmac-sha1-96]
session_etypes:
  description: The encryption types of those tickets' session keys, over all attempts.
  returned: always
  type: list
  elements: str
  sample: [aes256-cts-hmac-sha1-96]
attempts:
  description: Every attempt, in order.
  returned: always
  type: list
  elements: dict
  contains:
    status:
      description: Final status.
      type: int
    statuses:
      description: Statuses of the attempt's requests.
      type: list
      elements: int
    mechanism:
      description: C(kerberos), C(ntlm), C(anonymous) or C(none).
      type: str
    backend:
      description: Value of O(backend_header).
      type: str
    server:
      description: The C(Server) header.
      type: str
    offered:
      description: The schemes the first 401 offered (C(Negotiate), C(NTLM)).
      type: list
      elements: str
    spn:
      description: The SPN asked for.
      type: str
    ticket:
      description:
        - What the ticket sent says in clear text; C(spn), C(realm), C(etype), C(kvno), and
          C(session_etype), the encryption type of the authenticator, that is of the session key.
      type: dict
    kerberos_error:
      description: Why the client got no ticket (the KDC's or the Kerberos library's message).
      type: str
    server_error:
      description: The Kerberos error the server returned for the ticket; C(code), C(name), C(text).
      type: dict
    mutual_auth:
      description: Whether the server's Kerberos reply (AP-REP) was verified; null when not Kerberos.
      type: bool
    ntlm_user:
      description: The account an NTLM logon named (C(DOMAIN\\user)).
      type: str
    seconds:
      description: Duration of the attempt.
      type: float
    ok:
      description: Whether this attempt met the expectations.
      type: bool
    explanation:
      description: Why not, when it did not.
      type: str
"""
