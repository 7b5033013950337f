# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""The directory connection options: exactly those of the ``webfarm.winauth.ad`` doc fragment.

``AD_CONNECTION_ARGSPEC`` is merged into every module of the ``ad`` action group (and farm_audit's
action); :class:`ConnectionOptions` holds the validated values and refuses, before any network
traffic, combinations that cannot work.
"""

from __future__ import annotations

import os
import typing as t
from dataclasses import dataclass, field

from ansible.module_utils.basic import env_fallback

from ansible_collections.webfarm.winauth.plugins.module_utils._windows.credentials import Credential
from ansible_collections.webfarm.winauth.plugins.module_utils._windows.errors import InvalidInput

AD_AUTH_CHOICES = ("kerberos", "simple", "ntlm")
AD_TLS_CHOICES = ("ldaps", "starttls", "none")

# The argument spec every module of the ``ad`` action group merges into its own.
AD_CONNECTION_ARGSPEC: dict[str, dict[str, t.Any]] = {
    "server": {"type": "str", "fallback": (env_fallback, ["WINAUTH_AD_SERVER"])},
    "port": {"type": "int", "fallback": (env_fallback, ["WINAUTH_AD_PORT"])},
    "domain": {"type": "str", "fallback": (env_fallback, ["WINAUTH_AD_DOMAIN"])},
    "username": {"type": "str", "fallback": (env_fallback, ["WINAUTH_AD_USERNAME"])},
    "password": {"type": "str", "no_log": True, "fallback": (env_fallback, ["WINAUTH_AD_PASSWORD"])},
    "keytab": {"type": "path", "fallback": (env_fallback, ["WINAUTH_AD_KEYTAB"])},
    "auth": {"type": "str", "default": "kerberos", "choices": list(AD_AUTH_CHOICES),
             "fallback": (env_fallback, ["WINAUTH_AD_AUTH"])},
    "tls": {"type": "str", "default": "ldaps", "choices": list(AD_TLS_CHOICES),
            "fallback": (env_fallback, ["WINAUTH_AD_TLS"])},
    "validate_certs": {"type": "bool", "default": True, "fallback": (env_fallback, ["WINAUTH_AD_VALIDATE_CERTS"])},
    "ca_cert": {"type": "path", "fallback": (env_fallback, ["WINAUTH_AD_CA_CERT"])},
    "connect_timeout": {"type": "int", "default": 10, "fallback": (env_fallback, ["WINAUTH_AD_CONNECT_TIMEOUT"])},
    "allow_unsigned_ldap": {"type": "bool", "default": False,
                            "fallback": (env_fallback, ["WINAUTH_AD_ALLOW_UNSIGNED_LDAP"])},
}


@dataclass
class ConnectionOptions:
    """The validated connection options (see the ``ad`` doc fragment)."""

    server: str | None = None
    port: int | None = None
    domain: str | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    keytab: str | None = None
    auth: str = "kerberos"
    tls: str = "ldaps"
    validate_certs: bool = True
    ca_cert: str | None = None
    connect_timeout: int = 10
    allow_unsigned_ldap: bool = False
    _credential: Credential | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_params(cls, params: dict[str, t.Any]) -> "ConnectionOptions":
        return cls(**{name: params.get(name) for name in AD_CONNECTION_ARGSPEC if params.get(name) is not None})

    def validate(self) -> None:
        """Refuse combinations that cannot work, before any network traffic."""
        if self.auth not in AD_AUTH_CHOICES:
            raise InvalidInput("auth=%r is not one of %s" % (self.auth, ", ".join(AD_AUTH_CHOICES)))
        if self.tls not in AD_TLS_CHOICES:
            raise InvalidInput("tls=%r is not one of %s" % (self.tls, ", ".join(AD_TLS_CHOICES)))
        if self.tls == "none" and self.auth in ("simple", "ntlm"):
            raise InvalidInput("auth=%s with tls=none is refused: it would send the password (simple) or an "
                               "unsigned, unprotected session (ntlm) in clear text; use tls=ldaps or tls=starttls"
                               % self.auth)
        if self.tls == "none" and self.auth == "kerberos" and not self.allow_unsigned_ldap:
            raise InvalidInput("auth=kerberos with tls=none is refused: the collection adds no SASL signing or "
                               "sealing, so every read and write of the task would cross the network unsigned and "
                               "unencrypted (open to tampering); use tls=ldaps or tls=starttls, or set "
                               "allow_unsigned_ldap=true (WINAUTH_AD_ALLOW_UNSIGNED_LDAP) to accept that against a "
                               "DC that does not require LDAP signing")
        if self.auth in ("simple", "ntlm") and (not self.username or self.password is None):
            raise InvalidInput("auth=%s needs username and password (set them, or WINAUTH_AD_USERNAME and "
                               "WINAUTH_AD_PASSWORD)" % self.auth)
        if self.auth == "ntlm" and "\\" not in self.username and "@" not in self.username:
            raise InvalidInput("auth=ntlm needs username as DOMAIN\\user or user@domain, not %r" % self.username)
        if self.keytab and self.auth != "kerberos":
            raise InvalidInput("keytab=%s only applies to auth=kerberos (auth is %s)" % (self.keytab, self.auth))
        if self.keytab and self.password is not None:
            raise InvalidInput("set either password or keytab for the Kerberos principal, not both")
        if self.keytab and not self.username:
            raise InvalidInput("keytab=%s needs username: the principal whose key the keytab holds" % self.keytab)
        if self.keytab and not os.path.isfile(self.keytab):
            raise InvalidInput("keytab=%s does not exist or is not a file" % self.keytab)
        if self.ca_cert and not os.path.isfile(self.ca_cert):
            raise InvalidInput("ca_cert=%s does not exist or is not a file; give the PEM file of the CA that issued "
                               "the DC certificates" % self.ca_cert)
        if self.port is not None and not 0 < self.port < 65536:
            raise InvalidInput("port=%s is not a TCP port (1-65535)" % self.port)

    def warnings(self) -> list[str]:
        """What a task using these options should warn about (after validate)."""
        if self.tls == "none" and self.auth == "kerberos":
            return ["allow_unsigned_ldap=true: this task's LDAP traffic to the DC is neither signed nor encrypted "
                    "(auth=kerberos, tls=none); anyone on the path can read it and change what is written. Use "
                    "tls=ldaps or tls=starttls"]
        return []

    @property
    def effective_port(self) -> int:
        return self.port or (636 if self.tls == "ldaps" else 389)

    @property
    def gc_port(self) -> int:
        return 3269 if self.tls == "ldaps" else 3268

    def credential(self) -> Credential:
        """The credential of these options: one for LDAP, the Global Catalog and SYSVOL (one Kerberos logon)."""
        if self._credential is None:
            self._credential = Credential(protocol=self.auth, username=self.username, password=self.password,
                                          keytab=self.keytab)
        return self._credential

    def with_server(self, server: str, port: int | None) -> "ConnectionOptions":
        return ConnectionOptions(**{**self.__dict__, "server": server, "port": port})
