# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # The directory connection shared by every module in the webfarm.winauth.ad action group.
    DOCUMENTATION = r"""
options:
  server:
    description:
      - Domain controller to talk to (DNS name or address).
      - When omitted, a DC is discovered from O(domain) with the DNS SRV record
        C(_ldap._tcp.dc._msdcs.<domain>) (lowest priority first, then by weight),
        falling back to the address records of the domain name itself, which
        every AD domain publishes for its DCs.
      - Can also be set with the E(WINAUTH_AD_SERVER) environment variable.
    type: str
  port:
    description:
      - LDAP port. Defaults to C(636) with O(tls=ldaps) and C(389) otherwise.
      - The Global Catalog is reached on C(3269) (LDAPS) or C(3268) on the same server.
      - Can also be set with E(WINAUTH_AD_PORT).
    type: int
  domain:
    description:
      - DNS name of the AD domain, used to discover a DC when O(server) is not set.
      - Defaults to the realm of O(username) (C(user@camtest.local)), or to the realm
        of the Kerberos credential cache.
      - Can also be set with E(WINAUTH_AD_DOMAIN).
    type: str
  username:
    description:
      - Identity to bind as.
      - For O(auth=simple), a UPN (C(admin@camtest.local)), C(DOMAIN\\user) or a DN.
      - For O(auth=kerberos), the principal (C(admin@CAMTEST.LOCAL)); with O(password) a
        ticket is requested for it into a private in-memory cache, with O(keytab) its key
        is read from the keytab. Without O(password) and O(keytab), the controller's
        existing credential cache (C(kinit), E(KRB5CCNAME)) is used.
      - For O(auth=ntlm), C(DOMAIN\\user) or a UPN.
      - Can also be set with E(WINAUTH_AD_USERNAME).
    type: str
  password:
    description:
      - Password of O(username). Never logged or returned.
      - Can also be set with E(WINAUTH_AD_PASSWORD).
    type: str
  keytab:
    description:
      - With O(auth=kerberos), a keytab holding the key of O(username), for unattended runs.
      - Can also be set with E(WINAUTH_AD_KEYTAB).
    type: path
  auth:
    description:
      - How to authenticate the LDAP bind.
      - V(kerberos) binds with SASL GSSAPI. This is what a hardened domain expects.
      - V(simple) sends the password inside the TLS session; it needs O(tls=ldaps) or O(tls=starttls).
      - V(ntlm) binds with SASL GSS-SPNEGO carrying NTLM (computed by pyspnego, so it works
        where the Python runtime has no MD4); it needs O(tls=ldaps) or O(tls=starttls).
      - The collection does not implement SASL signing or sealing (integrity and privacy
        layers), so against a DC that requires LDAP signing every bind must run inside TLS.
        See the docs page on hardened domains for the full matrix.
      - Can also be set with E(WINAUTH_AD_AUTH).
    type: str
    choices: [kerberos, simple, ntlm]
    default: kerberos
  tls:
    description:
      - V(ldaps) connects with TLS from the start (port 636).
      - V(starttls) connects in clear text to port 389 and upgrades with the StartTLS extended operation
        before anything else is sent.
      - V(none) sends LDAP in clear text. It is refused for O(auth=simple) and O(auth=ntlm), which
        would expose the password or an unsigned session. O(auth=kerberos) with V(none) is refused
        too unless O(allow_unsigned_ldap=true), because the collection adds no SASL signing and the session
        would be neither signed nor encrypted; and it only works against DCs that do not require
        LDAP signing.
      - Can also be set with E(WINAUTH_AD_TLS).
    type: str
    choices: [ldaps, starttls, none]
    default: ldaps
  validate_certs:
    description:
      - Whether to validate the DC's certificate (chain and name).
      - Set to V(false) only in labs; the bind then cannot detect an impostor DC.
      - Can also be set with E(WINAUTH_AD_VALIDATE_CERTS).
    type: bool
    default: true
  ca_cert:
    description:
      - PEM file of the CA(s) that issued the DC certificates, when they are not in the
        controller's default trust store (an enterprise CA, for example).
      - Can also be set with E(WINAUTH_AD_CA_CERT).
    type: path
  connect_timeout:
    description:
      - Seconds to wait for the TCP connection and for each LDAP response.
      - Can also be set with E(WINAUTH_AD_CONNECT_TIMEOUT).
    type: int
    default: 10
  allow_unsigned_ldap:
    description:
      - Accept O(auth=kerberos) with O(tls=none), that is LDAP in clear text, neither signed nor encrypted
        (the collection implements no SASL integrity layer), so anyone on the network path can read
        the session and change what the task writes. The task warns when it is used.
      - Only for a DC that does not require LDAP signing and cannot offer TLS; prefer O(tls=ldaps)
        or O(tls=starttls).
      - Can also be set with E(WINAUTH_AD_ALLOW_UNSIGNED_LDAP).
    type: bool
    default: false
notes:
  - "The directory modules run where the task runs, usually the controller
    (C(delegate_to: localhost) or a C(localhost) play), and need the Python packages
    of the collection's C(requirements.txt) (ldap3, pyspnego, gssapi) in that interpreter."
  - "Set the connection once for every directory module with
    C(module_defaults: {group/webfarm.winauth.ad: {...}})."
  - With O(auth=kerberos) the LDAP service ticket is requested for C(ldap/<dnsHostName>),
    the name the DC publishes in its rootDSE, so connecting by address works too.
  - Channel binding tokens (C(tls-server-end-point)) are sent with every O(auth=kerberos) and
    O(auth=ntlm) bind over TLS, so DCs with LDAP channel binding set to C(Always) accept them.
"""
