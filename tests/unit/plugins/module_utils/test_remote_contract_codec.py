"""The controller's half of the remote contract: markers, stub and payload, response parsing, error lines."""

from __future__ import annotations

import base64
import json

import pytest

from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis import contract


def test_marker_is_found_wherever_it_sits() -> None:
    script = "Set-StrictMode -Version Latest\n# comment\n  $WinauthScript = @{ Id = 'iis_config'; Version = '1.2.3' }  \n"
    assert contract.parse_marker(script) == ("iis_config", "1.2.3")
    assert contract.parse_marker("# $WinauthScript = @{ Id = 'iis_config'; Version = '1.2.3' }") is None
    assert contract.parse_marker("Write-Output 'hello'") is None
    assert contract.parse_marker(contract.stub("gpupdate", "1.0.0")) == ("gpupdate", "1.0.0")


def test_payload_is_ascii_and_splits_back() -> None:
    request = {"op": "read", "sections": [{"section": "x", "location": "Caf\u00e9"}]}
    data = contract.payload("$WinauthScript = 1 # \u00e9t\u00e9\n", request)
    data.decode("ascii")
    lines = data.split(b"\n")
    assert len(lines) == 3 and lines[2] == b""
    script, text = contract.split_payload(data)
    assert script == "$WinauthScript = 1 # \u00e9t\u00e9\n" and json.loads(text) == request
    with pytest.raises(ValueError):
        contract.split_payload(b"")
    with pytest.raises(ValueError):
        contract.split_payload(b"not base64 at all!\n{}")
    assert base64.b64decode(lines[0]).decode("utf-8").startswith("$WinauthScript")


def test_response_is_the_last_json_line() -> None:
    stdout = 'noise\r\n{"ok":true,"script":"iis_config","version":"1.0.0","result":{"sections":[]}}\r\n'
    assert contract.parse_response(0, stdout, "", "iis_config") == {"sections": []}


def test_structured_errors_become_one_line_with_the_fix() -> None:
    stdout = json.dumps({"ok": False, "script": "iis_config", "version": "1.0.0", "error": {
        "code": "invalid_value", "message": "useKernelMode must be true or false, not 'x'.",
        "section": "system.webServer/security/authentication/windowsAuthentication", "location": "Default Web Site",
        "path": [], "attribute": "useKernelMode", "edit": 2}})
    with pytest.raises(contract.RemoteError) as caught:
        contract.parse_response(1, stdout, "", "iis_config")
    assert str(caught.value) == (
        "IIS configuration error (invalid_value) in system.webServer/security/authentication/windowsAuthentication, "
        "location 'Default Web Site', attribute useKernelMode, edit #2: useKernelMode must be true or false, not 'x'. "
        "Fix: use a value the IIS schema accepts for this attribute")
    assert caught.value.code == "invalid_value" and caught.value.context["edit"] == 2


def test_anything_else_is_a_protocol_error_with_stderr() -> None:
    with pytest.raises(contract.RemoteProtocolError, match=r"\(rc 1\): this lab node runs only"):
        contract.parse_response(1, "", "this lab node runs only webfarm.winauth remote scripts", "iis_config")
    with pytest.raises(contract.RemoteProtocolError, match="no output"):
        contract.parse_response(0, "", "", "gpupdate")
    with pytest.raises(contract.RemoteProtocolError, match="expected a response from gpupdate"):
        contract.parse_response(0, '{"ok":true,"script":"iis_config","result":{}}', "", "gpupdate")
    with pytest.raises(contract.RemoteProtocolError, match="returned no result"):
        contract.parse_response(0, '{"ok":true,"script":"gpupdate"}', "", "gpupdate")


def test_paths_read_well() -> None:
    assert contract.describe_path([{"name": "cam-pool"}, "processModel"]) == "[name=cam-pool]/processModel"
