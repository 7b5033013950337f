"""Which connections protect a task's request, as the winrm and psrp connection plugins decide their defaults.

The lab test (tests/functional/test_connections.py) runs the refusal through Ansible's own plugins.
"""

from __future__ import annotations

import pytest

from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis.app_pool import APP_POOL_SPEC
from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis.transport import set_secrets, unprotected


class Connection:
    def __init__(self, plugin: str, options: dict | None = None) -> None:
        self.transport = plugin          # the connection plugin's name, as Ansible sets it
        self._options = options or {}

    def get_option(self, name: str):
        if name not in self._options:
            raise KeyError(name)
        return self._options[name]


WINRM = dict(port=5985, scheme=None, transport=["ntlm"], remote_user="CAMTEST\\Administrator", _extras={})
PSRP = dict(port=5985, protocol=None, auth="negotiate", message_encryption="auto")


@pytest.mark.parametrize("options, reason", [
    (dict(WINRM), None),                                                     # NTLM encrypts each message
    (dict(WINRM, port=5986), None),                                          # HTTPS from the port
    (dict(WINRM, scheme="https", port=5985), None),
    (dict(WINRM, _extras={"ansible_winrm_message_encryption": "never"}), "ansible_winrm_message_encryption=never"),
    (dict(WINRM, transport=["basic"]), "ansible_winrm_transport=basic"),
    (dict(WINRM, transport=["ntlm", "basic"]), "ansible_winrm_transport=basic"),
    (dict(WINRM, transport=None), "ansible_winrm_transport=plaintext"),     # the plugin's default for DOMAIN\user
    (dict(WINRM, transport=None, remote_user="admin@CAMTEST.LOCAL"), None),  # ... and Kerberos for a UPN
    (dict(WINRM, transport=["basic"], port=5986), None),                     # Basic inside TLS
])
def test_winrm(options, reason) -> None:
    found = unprotected(Connection("ansible.builtin.winrm", options))
    assert (found is None) if reason is None else (reason in found), found


@pytest.mark.parametrize("options, reason", [
    (dict(PSRP), None),
    (dict(PSRP, port=None), None),                                           # 5986 and HTTPS by default
    (dict(PSRP, message_encryption="never"), "ansible_psrp_message_encryption=never"),
    (dict(PSRP, auth="basic"), "ansible_psrp_auth=basic"),
    (dict(PSRP, auth="basic", protocol="https"), None),
])
def test_psrp(options, reason) -> None:
    found = unprotected(Connection("psrp", options))
    assert (found is None) if reason is None else (reason in found), found


def test_ssh_and_other_connections_are_never_refused() -> None:
    assert unprotected(Connection("ansible.builtin.ssh")) is None


def test_set_secrets_names_nested_options_by_their_path() -> None:
    spec = {"site": {"type": "str"}, "anonymous": {"type": "dict", "options": {
        "username": {"type": "str"}, "password": {"type": "str", "no_log": True}}}}
    assert set_secrets(spec, {"site": "a", "anonymous": {"username": "u", "password": "p"}}) == ["anonymous.password"]
    assert set_secrets(spec, {"site": "a", "anonymous": {"username": "u", "password": None}}) == []
    assert set_secrets(APP_POOL_SPEC, {"name": "p", "password": "x"}) == ["password"]
