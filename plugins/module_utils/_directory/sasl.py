# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""SASL binds driven by pyspnego (the exchange only; ldap3 sends the requests, see ``operations``).

ldap3 ships GSSAPI and an NTLM implementation that needs MD4 from OpenSSL, which
OpenSSL 3 no longer provides. pyspnego implements NTLM itself and wraps GSSAPI
for Kerberos, so both mechanisms are driven from here:

* ``GSSAPI`` (RFC 4752) for Kerberos: the context tokens, then the server's
  wrapped security-layer offer, to which we answer "no security layer". The
  session therefore has no SASL integrity: against a DC that requires signing
  it must run inside TLS (``ldap server require strong auth`` /
  ``LDAPServerIntegrity``), which is what the connection enforces.
* ``GSS-SPNEGO`` carrying raw NTLMSSP tokens, as Windows' own LDAP client does
  for NTLM binds.
"""

from __future__ import annotations

import struct
import typing as t

from ansible_collections.webfarm.winauth.plugins.module_utils._windows import ldap_codes as codes
from ansible_collections.webfarm.winauth.plugins.module_utils._windows.errors import BindRefused

# RFC 4752 section 3.3: security layer bit masks.
_SASL_LAYER_NONE = 0x01


class SaslBindError(BindRefused):
    """The SASL exchange failed; ``result`` holds the last LDAP result, if any."""

    def __init__(self, message: str, result: dict | None = None) -> None:
        super().__init__(message)
        self.result = result


def _security_layer_reply(offer: bytes) -> bytes:
    """Answer the server's RFC 4752 offer with 'no security layer' (we run inside TLS or not at all)."""
    if len(offer) != 4:
        raise SaslBindError("the DC sent a malformed GSSAPI security layer offer (%d bytes)" % len(offer))
    layers = offer[0]
    if not layers & _SASL_LAYER_NONE:
        raise SaslBindError("the DC requires a SASL integrity or privacy layer, which this collection does not "
                            "implement: connect with tls=ldaps or tls=starttls")
    return struct.pack(">B3s", _SASL_LAYER_NONE, b"\x00\x00\x00")


def run_sasl_exchange(send: t.Callable[[str, bytes], dict], mechanism: str, context: t.Any) -> dict:
    """Drive a SASL bind to completion.

    ``send(mechanism, payload)`` sends one BindRequest and returns ldap3's result
    dict (``result``, ``description``, ``message``, ``saslCreds``); ``context`` is a
    pyspnego client context. Returns the final, successful result dict.

    NTLM (GSS-SPNEGO) ends when the server accepts the AUTHENTICATE message.
    Kerberos (GSSAPI) continues after the context is established: the server
    sends a wrapped security-layer offer and we answer with a wrapped choice.
    """
    in_token: bytes | None = None
    while True:
        out_token = context.step(in_token) or b""
        result = send(mechanism, out_token)
        if result["result"] == codes.SUCCESS:
            return result
        if result["result"] != codes.SASL_BIND_IN_PROGRESS:
            raise SaslBindError("bind refused", result)
        in_token = result.get("saslCreds") or b""
        if context.complete:
            break
    if mechanism != "GSSAPI":
        raise SaslBindError("the DC asked for another %s round after the context was complete" % mechanism, result)
    offer = context.unwrap(in_token).data
    reply = context.wrap(_security_layer_reply(offer), encrypt=False).data
    result = send(mechanism, reply)
    if result["result"] != codes.SUCCESS:
        raise SaslBindError("bind refused", result)
    return result
