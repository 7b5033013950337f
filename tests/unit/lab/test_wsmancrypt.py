"""WinRM message encryption over HTTP, node side, against pypsrp's own client encryption (NTLM sessions in process)."""

from __future__ import annotations

import pytest
import spnego
from pypsrp.encryption import WinRMEncryption

from winauth_lab import wsmancrypt

SOAP = (b"<s:Envelope xmlns:s='http://www.w3.org/2003/05/soap-envelope'><s:Body>" + b"x" * 5000
        + b"</s:Body></s:Envelope>")


@pytest.fixture()
def sessions(tmp_path, monkeypatch):
    """A completed NTLM exchange: (client context, server context)."""
    users = tmp_path / "ntlm_users"
    users.write_text(":alice:Pa55-alice!\n")
    monkeypatch.setenv("NTLM_USER_FILE", str(users))
    client = spnego.client("alice", "Pa55-alice!", protocol="ntlm", options=spnego.NegotiateOptions.wrapping_winrm)
    server = spnego.server(protocol="ntlm")
    token = client.step()
    while not (client.complete and server.complete):
        token = server.step(token)
        if token:
            token = client.step(token)
    return client, server


def test_a_client_message_unwraps_and_the_answer_wraps_back(sessions) -> None:
    client, server = sessions
    content_type, body = WinRMEncryption(client, WinRMEncryption.SPNEGO).wrap_message(SOAP)
    header = '%s;protocol="%s";boundary="Encrypted Boundary"' % (content_type, WinRMEncryption.SPNEGO)
    assert wsmancrypt.is_encrypted(header) and SOAP not in body
    message, protocol = wsmancrypt.unwrap(body, header, server)
    assert (message, protocol) == (SOAP, WinRMEncryption.SPNEGO)
    answer, answer_type = wsmancrypt.wrap(b"<answer/>" * 300, server, protocol)
    assert answer_type.startswith("multipart/encrypted;protocol=") and b"<answer/>" not in answer
    assert WinRMEncryption(client, WinRMEncryption.SPNEGO).unwrap_message(answer, "Encrypted Boundary") == \
        b"<answer/>" * 300


def test_tampering_other_keys_and_credssp_are_refused(sessions, tmp_path, monkeypatch) -> None:
    client, server = sessions
    content_type, body = WinRMEncryption(client, WinRMEncryption.SPNEGO).wrap_message(SOAP)
    header = '%s;protocol="%s"' % (content_type, WinRMEncryption.SPNEGO)
    tampered = body[:-40] + bytes([body[-40] ^ 1]) + body[-39:]
    with pytest.raises(wsmancrypt.EncryptionError):
        wsmancrypt.unwrap(tampered, header, server)
    with pytest.raises(wsmancrypt.EncryptionError, match="CredSSP"):
        wsmancrypt.unwrap(body, '%s;protocol="%s"' % (content_type, WinRMEncryption.CREDSSP), server)
    assert not wsmancrypt.is_encrypted("application/soap+xml;charset=UTF-8")
