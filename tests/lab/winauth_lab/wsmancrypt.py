# Internal to the webfarm.winauth lab.
"""WinRM message encryption over HTTP ([MS-WSMV] 2.2.9.1), as a Windows host applies it on its HTTP listener.

With ``AllowUnencrypted=false`` (Windows' default) every SOAP message on port 5985 travels as
``multipart/encrypted`` with ``protocol="application/HTTP-SPNEGO-session-encrypted"`` (NTLM, or
Kerberos inside Negotiate) or ``application/HTTP-Kerberos-session-encrypted`` (the ``Kerberos``
scheme): two MIME parts, the first naming the original length, the second the sealed message
prefixed by its signature's length (4 bytes, little-endian) and the signature. The keys are the
connection's NTLM or Kerberos session (``wrap_winrm`` / ``unwrap_winrm`` of its context). The
answer goes back the same way, with the protocol the client used.
"""

from __future__ import annotations

import re
import struct
import typing as t

BOUNDARY = b"--Encrypted Boundary"
SPNEGO = "application/HTTP-SPNEGO-session-encrypted"
KERBEROS = "application/HTTP-Kerberos-session-encrypted"
CREDSSP = "application/HTTP-CredSSP-session-encrypted"
PROTOCOLS = (SPNEGO, KERBEROS)
_PROTOCOL = re.compile(r'protocol="?([^";]+)"?', re.I)
_LENGTH = re.compile(rb"Length=(\d+)", re.I)


class EncryptionError(Exception):
    """A message that claims encryption but cannot be unwrapped (wrong keys, tampered, or a protocol not served)."""


def is_encrypted(content_type: str) -> bool:
    return content_type.split(";", 1)[0].strip().lower() in ("multipart/encrypted", "multipart/x-multi-encrypted")


def protocol_of(content_type: str) -> str:
    match = _PROTOCOL.search(content_type)
    return match.group(1) if match else ""


def unwrap(body: bytes, content_type: str, context: t.Any) -> tuple[bytes, str]:
    """(the SOAP message, the protocol) from an encrypted request body."""
    protocol = protocol_of(content_type)
    if protocol.lower() == CREDSSP.lower():
        raise EncryptionError("CredSSP message encryption is not served by the lab node")
    if protocol.lower() not in (p.lower() for p in PROTOCOLS):
        raise EncryptionError("unknown encryption protocol %r" % protocol)
    parts = [p for p in re.split(rb"--\s*Encrypted Boundary(?:--)?\r\n", body) if p.strip()]
    if not parts or len(parts) % 2:
        raise EncryptionError("the multipart/encrypted body does not hold header and data parts")
    message = b""
    for index in range(0, len(parts), 2):
        length = _LENGTH.search(parts[index])
        payload = parts[index + 1].replace(b"\tContent-Type: application/octet-stream\r\n", b"", 1)
        if length is None or len(payload) < 4:
            raise EncryptionError("an encrypted part has no OriginalContent length or no data")
        header_length = struct.unpack("<i", payload[:4])[0]
        header, sealed = payload[4:4 + header_length], payload[4 + header_length:]
        try:
            clear = context.unwrap_winrm(header, sealed)
        except Exception as exc:  # pylint: disable=broad-exception-caught  # any failure means: not from this session
            raise EncryptionError("the message does not unwrap with the connection's session keys: %s" % exc) from exc
        # pypsrp counts the padding of its wrap in the length; pywinrm does not.
        if not 0 <= int(length.group(1)) - len(clear) <= 16:
            raise EncryptionError("the decrypted length %d does not match the announced %s"
                                  % (len(clear), length.group(1).decode()))
        message += clear
    return message, protocol


def wrap(message: bytes, context: t.Any, protocol: str) -> tuple[bytes, str]:
    """(the encrypted body, its Content-Type) of an answer."""
    wrapped = context.wrap_winrm(message)
    header, sealed = (wrapped.header, wrapped.data) if hasattr(wrapped, "header") else wrapped[:2]
    body = (BOUNDARY + b"\r\n\tContent-Type: " + protocol.encode("ascii") + b"\r\n"
            b"\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=" + str(len(message)).encode() +
            b"\r\n" + BOUNDARY + b"\r\n\tContent-Type: application/octet-stream\r\n" +
            struct.pack("<i", len(header)) + header + sealed + BOUNDARY + b"--\r\n")
    return body, 'multipart/encrypted;protocol="%s";boundary="Encrypted Boundary"' % protocol
