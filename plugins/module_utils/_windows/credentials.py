# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""The one credential factory: who the collection authenticates as, for LDAP, SMB and the HTTP probe.

A :class:`Credential` says how: Kerberos from the credential cache (``KRB5CCNAME``, or the default
cache krb5.conf names, or an explicit one), from a password (a ticket-granting ticket requested
into a private in-memory cache: nothing written to disk, no ticket of an earlier run reused),
or from a keytab; NTLM from a password; simple (LDAP only: username and password sent inside TLS).
Each consumer asks for the form its library takes: :meth:`Credential.spnego` (pyspnego, which
drives the LDAP SASL bind and smbprotocol's SMB session) or :meth:`Credential.gssapi` (the probe's
SPNEGO initiator). Failures raise :class:`CredentialError` with the library's own words in it;
callers explain them. The libraries are imported only when a credential is used.
"""

from __future__ import annotations

import hashlib
import os
import typing as t
import uuid
from dataclasses import dataclass, field

from ansible_collections.webfarm.winauth.plugins.module_utils._windows.errors import BindRefused

PROTOCOLS = ("kerberos", "ntlm", "simple")


class CredentialError(BindRefused):
    """No usable credential (wrong password, no ticket, unreadable keytab): the library's reason in one line."""


# MIT krb5 error codes are ERROR_TABLE_BASE_krb5 plus the KDC's error number (RFC 4120 7.5.9).
_KRB5_BASE = -1765328384
KDC_REASONS = {_KRB5_BASE + 6: "unknown", _KRB5_BASE + 18: "revoked", _KRB5_BASE + 23: "expired",
               _KRB5_BASE + 24: "wrong_password", _KRB5_BASE + 37: "clock_skew",
               -1765328228: "unreachable", -1765328164: "unknown_realm"}


class PasswordRefused(CredentialError):
    """The KDC refused an AS exchange; ``reason`` is one of KDC_REASONS' values, or ``other``."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def kerberos_user(username: str) -> str:
    """``DOMAIN\\user`` -> ``user`` (the default realm); ``user@REALM`` stays as it is."""
    return username.split("\\", 1)[1] if "\\" in username else username


def default_ccache_name() -> str:
    """KRB5CCNAME, or the default cache that krb5.conf names (what kinit wrote to)."""
    if os.environ.get("KRB5CCNAME"):
        return os.environ["KRB5CCNAME"]
    try:
        import krb5  # pylint: disable=import-outside-toplevel

        return krb5.cc_default_name(krb5.init_context()).decode()
    except Exception:  # pylint: disable=broad-except  # no krb5: MIT's default location
        return "FILE:/tmp/krb5cc_%d" % os.getuid()


def cached_principal(ccache: str | None = None) -> str | None:
    """The client principal of a credential cache (the default one when None), or None without a usable ticket."""
    try:
        import gssapi  # pylint: disable=import-outside-toplevel

        store = {"ccache": ccache} if ccache else None
        return str(gssapi.Credentials(usage="initiate", store=store).name)
    except Exception:  # pylint: disable=broad-except  # no gssapi, no cache, expired: nobody
        return None


def tls_server_end_point(peer_cert_der: bytes | None) -> bytes | None:
    """RFC 5929 ``tls-server-end-point`` channel binding data for a server certificate, or None.

    The certificate's signature hash, with MD5 and SHA-1 replaced by SHA-256 (RFC 5929 4.1).
    """
    if not peer_cert_der:
        return None
    from cryptography import x509  # pylint: disable=import-outside-toplevel

    algorithm = x509.load_der_x509_certificate(peer_cert_der).signature_hash_algorithm
    name = algorithm.name if algorithm is not None else "sha256"
    if name in ("md5", "sha1"):
        name = "sha256"
    return b"tls-server-end-point:" + hashlib.new(name, peer_cert_der).digest()


def spnego_channel_bindings(peer_cert_der: bytes | None) -> t.Any:
    """The channel bindings pyspnego takes for a TLS server certificate, or None."""
    data = tls_server_end_point(peer_cert_der)
    if data is None:
        return None
    from spnego.channel_bindings import GssChannelBindings  # pylint: disable=import-outside-toplevel

    return GssChannelBindings(application_data=data)


def _file(path: str) -> str:
    return path if ":" in path.split("/", 1)[0] else "FILE:%s" % os.path.abspath(path)


@dataclass
class Credential:
    """How to authenticate (see the module docstring). The password is never shown."""

    protocol: str = "kerberos"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    keytab: str | None = None
    ccache: str | None = None
    _memory: t.Any = field(default=None, repr=False, compare=False)   # keeps the in-memory cache alive
    _gss: t.Any = field(default=None, repr=False, compare=False)

    @property
    def who(self) -> str:
        return self.username or "the principal in the credential cache"

    # -- Kerberos ------------------------------------------------------------------------------
    def _password_ccache(self) -> str:
        """A ticket-granting ticket for username, requested with the password into a private memory cache."""
        try:
            import krb5  # pylint: disable=import-outside-toplevel
        except ImportError:
            raise CredentialError("the Python package krb5 is needed for Kerberos with a password "
                                  "(pip install krb5)") from None
        if self._memory is None:
            try:
                context = krb5.init_context()
                principal = krb5.parse_name_flags(context, kerberos_user(self.username or "").encode("utf-8"))
                initial = krb5.get_init_creds_password(context, principal, krb5.get_init_creds_opt_alloc(context),
                                                       password=(self.password or "").encode("utf-8"))
                ccache = krb5.cc_new_unique(context, b"MEMORY")
                krb5.cc_initialize(context, ccache, principal)
                krb5.cc_store_cred(context, ccache, initial)
            except krb5.Krb5Error as exc:
                raise CredentialError(" ".join(str(exc).split())) from None
            self._memory = (context, ccache)
        return "MEMORY:%s" % self._memory[1].name.decode("utf-8")

    def prove_password(self) -> None:
        """One AS exchange for username with the password; the TGT stays in this process's memory, in no cache.

        Raises PasswordRefused with the KDC's reason (wrong password, account revoked, password expired, ...).
        """
        try:
            import krb5  # pylint: disable=import-outside-toplevel
        except ImportError:
            raise CredentialError("the Python package krb5 is needed to prove a password with Kerberos "
                                  "(pip install krb5)") from None
        try:
            context = krb5.init_context()
            principal = krb5.parse_name_flags(context, kerberos_user(self.username or "").encode("utf-8"))
            krb5.get_init_creds_password(context, principal, krb5.get_init_creds_opt_alloc(context),
                                         password=(self.password or "").encode("utf-8"))
        except krb5.Krb5Error as exc:
            reason = KDC_REASONS.get(getattr(exc, "err_code", None) or 0, "other")
            raise PasswordRefused(" ".join(str(exc).split()), reason) from None

    def kerberos_store(self) -> tuple[str | None, dict[str, str] | None]:
        """(client principal or None, GSSAPI credential store) of a Kerberos credential."""
        if self.password is not None:
            return kerberos_user(self.username or ""), {"ccache": self._password_ccache()}
        if self.keytab:
            return self.username, {"client_keytab": _file(self.keytab),
                                   "ccache": "MEMORY:winauth-%s" % uuid.uuid4().hex}
        if self.ccache:
            return self.username, {"ccache": self.ccache}
        return self.username, ({"ccache": default_ccache_name()} if self.username else None)

    def spnego(self, protocol: str | None = None) -> t.Any:
        """The credential as pyspnego takes it for ``protocol`` (default: its own); None: the default cache's."""
        import spnego  # pylint: disable=import-outside-toplevel

        if (protocol or self.protocol) != "kerberos":
            return spnego.Password(self.username or "", self.password or "")
        if self.keytab:
            return spnego.KerberosKeytab(keytab=self.keytab, principal=self.username)
        principal, store = self.kerberos_store()
        if store is None:
            return None
        return spnego.KerberosCCache(ccache=store["ccache"], principal=principal)

    def gssapi(self) -> t.Any:
        """GSSAPI initiator credentials, acquired once (raises the GSSError for the caller to explain)."""
        if self._gss is None:
            import gssapi  # pylint: disable=import-outside-toplevel

            principal, store = self.kerberos_store()
            name = gssapi.Name(principal, gssapi.NameType.kerberos_principal) if principal else None
            self._gss = gssapi.Credentials(name=name, usage="initiate", store=store)
            if self.password is None and not self.keytab:
                self._gss.lifetime  # pylint: disable=pointless-statement  # raises now if the cache is empty/expired
        return self._gss


def drop_ntlm_key_exchange(context: t.Any) -> None:
    """Do not offer NTLMSSP_NEGOTIATE_KEY_EXCH on an NTLM context that wants neither signing nor sealing.

    Without sign/seal pyspnego still offers KEY_EXCH and then sends a one-byte
    EncryptedRandomSessionKey, which Samba DCs reject ("KEY_EXCH session key was
    of invalid length"). Without the flag the session key is the KeyExchangeKey
    ([MS-NLMP] 3.1.5.1.2), which every DC accepts. pyspnego has no public switch for
    this, so this is the collection's one use of its internals (the negotiate flags).
    """
    from spnego._ntlm_raw.messages import NegotiateFlags  # pylint: disable=import-outside-toplevel

    requested = getattr(context, "_context_req", None)
    if isinstance(requested, int) and not requested & (NegotiateFlags.sign | NegotiateFlags.seal):
        context._context_req = requested & ~NegotiateFlags.key_exch  # pylint: disable=protected-access
