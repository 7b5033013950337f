"""The remote contract, run against the lab twin exactly as a lab node runs it.

Each case of ``remote_contract_cases.CASES`` (what the PowerShell must return) goes through the
path a real call takes: the call's stub is encoded by Ansible's own PowerShell shell plugin and
decoded from ``-EncodedCommand`` as the WinRM node decodes it; stdin carries the shipped .ps1 and
the JSON request; ``winauth_lab.remote.dispatch`` answers. The same data is the checklist for the
.ps1: every error code a case expects must be one the script can raise.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path

import pytest
from ansible.plugins.loader import shell_loader

from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis import contract
from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis.runner import script_text
from remote_contract_cases import ABSENT, ANY, CASES
from winauth_lab.iis import initial_config
from winauth_lab.remote import REFUSAL, NodeContext, dispatch

REPO = Path(__file__).resolve().parents[2]
SHELL = shell_loader.get("powershell")


def node_decode(command: str) -> str:
    """What the lab node does with Ansible's command line: the script behind -EncodedCommand."""
    parts = command.split(" ")
    return base64.b64decode(parts[parts.index("-EncodedCommand") + 1]).decode("utf-16-le")


def command_for(script_id: str, strict_mode: bool = False) -> str:
    return SHELL._encode_script(contract.stub(script_id, contract.SCRIPTS[script_id]), as_list=False,
                                strict_mode=strict_mode, preserve_rc=False)


def call(node: NodeContext, script_id: str, request: dict | None, strict_mode: bool = False) -> tuple[int, dict | None,
                                                                                                      str]:
    command = command_for(script_id, strict_mode)
    stdin = b"" if request is None else contract.payload(script_text(script_id), request)
    rc, stdout, stderr = dispatch(node_decode(command), stdin, node)
    text = stdout.decode("ascii")
    return rc, (json.loads(text) if text.strip() else None), stderr.decode("utf-8", "replace")


def matches(actual, expected, where: str = "$") -> list[str]:
    """Differences between a response and the subset the contract requires."""
    if expected is ANY:
        return []
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return ["%s: expected an object, got %r" % (where, actual)]
        problems = []
        for key, value in expected.items():
            if value is ABSENT:
                if key in actual:
                    problems.append("%s.%s: must be absent, got %r" % (where, key, actual[key]))
            elif key not in actual:
                problems.append("%s.%s: missing" % (where, key))
            else:
                problems += matches(actual[key], value, "%s.%s" % (where, key))
        return problems
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return ["%s: expected %d items, got %r" % (where, len(expected), actual)]
        return [p for i, (a, e) in enumerate(zip(actual, expected)) for p in matches(a, e, "%s[%d]" % (where, i))]
    if type(actual) is not type(expected) or actual != expected:  # pylint: disable=unidiomatic-typecheck
        return ["%s: expected %r, got %r" % (where, expected, actual)]
    return []


@pytest.fixture()
def node(tmp_path: Path) -> NodeContext:
    context = NodeContext("SERVER1", tmp_path / "SERVER1")
    context.node_dir.mkdir()
    context.application_host_config.write_bytes(initial_config("SERVER1").encode("utf-8"))
    return context


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_contract_case(case: dict, node: NodeContext) -> None:
    if "config_patch" in case:
        old, new = case["config_patch"]
        text = node.application_host_config.read_text(encoding="utf-8")
        assert text.count(old) == 1
        node.application_host_config.write_text(text.replace(old, new), encoding="utf-8", newline="")
    if "domain_policy" in case.get("lab", {}):
        node.domain_policy = lambda: case["lab"]["domain_policy"]
    for step in case.get("setup", []):
        script_id, request = step if isinstance(step, tuple) else (case["script"], step)
        rc, response, stderr = call(node, script_id, request)
        assert rc == 0 and response["ok"], (step, response, stderr)
    before = node.application_host_config.read_bytes()
    rc, response, stderr = call(node, case["script"], case["request"])
    problems = matches(response, case["expect"])
    assert not problems, "\n".join(problems) + "\n\nresponse: %s\nstderr: %s" % (json.dumps(response)[:3000], stderr)
    assert rc == case["rc"], (rc, response)
    if case["request"] is not None:
        assert response["script"] == case["script"] and response["version"] == contract.SCRIPTS[case["script"]]
    # A runtime edit refused after the commit (as Windows runs them: commit, then start/stop/recycle) leaves the
    # committed configuration written and says so; any other failure, or an apply with nothing to do, writes nothing.
    committed_then_failed = not response["ok"] and response["error"].get("committed") is True
    if committed_then_failed:
        assert node.application_host_config.read_bytes() != before, "the error says committed, the file is unchanged"
    elif rc != 0 or (response["ok"] and response["result"].get("committed") is False):
        assert node.application_host_config.read_bytes() == before, "a failed or empty apply changed the file"
    for request, expected in case.get("then", []):
        rc, response, stderr = call(node, case["script"], request)
        problems = matches(response, expected)
        assert not problems, "\n".join(problems) + "\n\nresponse: %s" % json.dumps(response)[:3000]
        assert rc == (0 if expected.get("ok") else 1)


def test_every_expected_error_code_is_one_the_script_raises() -> None:
    """The .ps1 answers to the same spec: each error code a case expects appears in that script."""
    for case in CASES:
        for expected in [case["expect"]] + [e for _r, e in case.get("then", [])]:
            code = expected.get("error", {}).get("code") if isinstance(expected, dict) else None
            if code:
                assert "'%s'" % code in script_text(case["script"]), (case["id"], code)


def test_error_codes_have_fixes_and_docs() -> None:
    docs = (REPO / "docs" / "remote-contract.md").read_text(encoding="utf-8")
    raised = set()
    for script_id in contract.SCRIPTS:
        raised |= set(re.findall(r"Stop-Winauth '([a-z_]+)'|code = '([a-z_]+)'", script_text(script_id)) and
                      [c for pair in re.findall(r"Stop-Winauth '([a-z_]+)'|code = '([a-z_]+)'",
                                                script_text(script_id)) for c in pair if c])
    assert raised <= set(contract.FIXES), raised - set(contract.FIXES)
    for code in contract.FIXES:
        assert "`%s`" % code in docs, "docs/remote-contract.md does not describe %s" % code


def test_markers_match_the_catalogue_and_survive_ansibles_encoding(node: NodeContext) -> None:
    for script_id, version in contract.SCRIPTS.items():
        assert contract.parse_marker(script_text(script_id)) == (script_id, version)
        for strict in (False, True):      # Ansible adds Set-StrictMode when it encodes a script itself
            assert contract.parse_marker(node_decode(command_for(script_id, strict))) == (script_id, version)
    rc, response, _stderr = call(node, "iis_config", {"op": "read", "sections": []}, strict_mode=True)
    assert rc == 0 and response["result"] == {"sections": []}


def test_command_lines_fit_cmd_exe() -> None:
    """WinRS runs commands through cmd.exe: 8191 characters at most, whatever the script's size."""
    for script_id in contract.SCRIPTS:
        assert len(command_for(script_id)) < 8000


def test_anything_else_is_refused(node: NodeContext) -> None:
    rc, stdout, stderr = dispatch("Get-ChildItem C:\\", b"", node)
    assert rc != 0 and stdout == b"" and stderr.decode() == REFUSAL + "\r\n"
    request = {"op": "read", "sections": []}
    older = script_text("iis_config").replace("Version = '%s'" % contract.SCRIPTS["iis_config"], "Version = '0.9.0'")
    rc, stdout, stderr = dispatch(contract.stub("iis_config", "0.9.0"), contract.payload(older, request), node)
    assert rc != 0 and b"version 0.9.0" in stderr and stdout == b""
    rc, stdout, stderr = dispatch(node_decode(command_for("iis_config")),
                                  contract.payload("Remove-Item C:\\ -Recurse", request), node)
    assert rc != 0 and b"not the one the command line names" in stderr and stdout == b""
    rc, _stdout, stderr = dispatch(contract.stub("format_disk", "1.0.0"), b"{}", node)
    assert rc != 0 and stderr.decode() == REFUSAL + "\r\n"


def test_calls_are_logged_without_values(node: NodeContext) -> None:
    secret = "Never-In-Logs-1!"
    call(node, "iis_config", {"op": "apply", "edits": [
        {"op": "add", "section": "system.applicationHost/applicationPools", "location": "", "path": [],
         "item": {"name": "p1"}},
        {"op": "set", "section": "system.applicationHost/applicationPools", "location": "",
         "path": [{"name": "p1"}, "processModel"], "attribute": "password", "value": secret}]})
    call(node, "iis_config", {"op": "read", "sections": [{"section": "system.applicationHost/applicationPools",
                                                          "compare": [{"path": [{"name": "p1"}, "processModel"],
                                                                       "attribute": "password", "value": secret}]}]})
    assert [r["op"] for r in node.log] == ["apply", "read"]
    assert node.log[0]["changed"] is True and node.log[0]["edits"][1]["attribute"] == "password"
    assert node.log[0]["edits"][0]["key"] == {"name": "p1"} and "value" not in node.log[0]["edits"][1]
    assert secret not in json.dumps(node.log)
    assert secret not in node.application_host_config.read_text(encoding="utf-8")
    assert "[enc:IISWASOnlyCngProvider:" in node.application_host_config.read_text(encoding="utf-8")


# Each script's text as it is sent (the shared prelude, the script's parts, then the script, compacted), pinned to its
# version.
# A script whose text changes (its .ps1, its parts or the prelude) must get a new version (in its marker and in contract.SCRIPTS) so that
# hosts, logs and the lab can tell one from the other; then update the digest here (sha256 of the text with LF
# line ends).
PINNED = {
    "iis_config": ("1.5.0", "b42b6b6622f83c9b9179693abb6b7913f981d3e8e8c2ab900dd912ab3ba3f834"),
    "gpupdate": ("1.2.0", "794e10f9ea16bacd807574fb65cea813223d21c13e1c7f0c7a37b45189f7ba00"),
    "user_rights": ("1.2.0", "ffb328be0cef5421b1121682c96d7100ef1e75cc54dcf892aa46ae323e220155"),
}


def test_a_changed_script_gets_a_new_version() -> None:
    assert set(PINNED) == set(contract.SCRIPTS)
    for script_id, (version, digest) in PINNED.items():
        text = script_text(script_id).replace("\r\n", "\n")
        actual = hashlib.sha256(text.encode("utf-8")).hexdigest()
        assert (contract.SCRIPTS[script_id], actual) == (version, digest), (
            "%s.ps1 (or the prelude) changed: give it a new version in its marker and in contract.SCRIPTS, teach the "
            "lab twin that version, and pin the new digest %s here" % (script_id, actual))


def test_the_scripts_are_sent_compacted_and_nothing_in_them_depends_on_a_line_s_indentation() -> None:
    from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis.runner import SCRIPT_DIR, compact
    assert compact("# a comment\n\n    $a = 1   \n  # another\n    if ($a) { 'x' }\n") == "$a = 1\nif ($a) { 'x' }"
    for path in sorted(Path(SCRIPT_DIR).glob("*.ps1")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip().startswith("#"):
                continue
            code = re.sub(r'"(?:`.|[^"`])*"', "", re.sub(r"'[^']*'", "", line.strip()))
            # No here-string, no block comment, no string left open at the end of a line.
            assert not any(mark in code for mark in ("@'", '@"', "<#", "'", '"')), (path.name, number, line)
    sent = script_text("iis_config")
    assert "\n#" not in sent and "\n " not in sent and contract.parse_marker(sent) == ("iis_config", "1.5.0")


def test_reverting_what_a_farm_role_sets_gives_the_twin_file_back_byte_for_byte(node: NodeContext) -> None:
    """``revert`` (1.5.0) after the edits lb_farm makes: the attributes at the site's <location> (and the location the
    sets created), and the pool's processModel (the element the sets created, and ``<add ... />`` closed again)."""
    pm = [{"name": "DefaultAppPool"}, "processModel"]
    wa = "system.webServer/security/authentication/windowsAuthentication"
    anon = "system.webServer/security/authentication/anonymousAuthentication"
    pools = "system.applicationHost/applicationPools"
    edits = [(wa, "Default Web Site", [], "enabled", True), (wa, "Default Web Site", [], "useAppPoolCredentials", True),
             (wa, "Default Web Site", [], "useKernelMode", False), (anon, "Default Web Site", [], "enabled", False),
             (pools, "", pm, "identityType", "SpecificUser"), (pools, "", pm, "userName", "CAMTEST\\cam-svc"),
             (pools, "", pm, "password", "Pa55w.rd!")]
    before = node.application_host_config.read_bytes()
    rc, response, _stderr = call(node, "iis_config", {"op": "apply", "edits": [
        {"op": "set", "section": s, "location": loc, "path": p, "attribute": a, "value": v} for s, loc, p, a, v in edits]})
    assert rc == 0 and response["result"]["changed"], json.dumps(response)[:2000]
    assert node.application_host_config.read_bytes() != before
    rc, response, _stderr = call(node, "iis_config", {"op": "apply", "edits": [
        {"op": "revert", "section": s, "location": loc, "path": p, "attribute": a} for s, loc, p, a, _v in edits]})
    assert rc == 0 and all(r["changed"] for r in response["result"]["results"]), json.dumps(response)[:2000]
    assert node.application_host_config.read_bytes().decode() == before.decode()
