"""The scripts behind `make demo` and `make test` work on a machine and a lab that have never run them.

A fresh clone has no build/ and a fresh lab's nodes have only their applicationHost.config: a script
that passes only where an earlier run left a file behind fails here, not on a new user's machine.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
NODE_FILES = REPO / "tests" / "demo" / "node_files.sh"
NODES = ("server1", "server2", "arr1", "content1", "content2")


def _shell_scripts() -> list[Path]:
    listed = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    scripts = []
    for name in listed:
        path = REPO / name
        if name.endswith(".sh") or (path.is_file() and path.read_bytes()[:40].startswith(b"#!")
                                    and b"sh" in path.read_bytes().split(b"\n", 1)[0]):
            scripts.append(path)
    return scripts


def _run(script: str, lab_dir: Path, saved: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", "set -Eeuo pipefail; source %s; %s" % (NODE_FILES, script)],
                          env={"LAB_DIR": str(lab_dir), "saved": str(saved), "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, check=False)


def test_demo_saves_and_restores_the_nodes_of_a_never_used_lab(tmp_path: Path) -> None:
    lab_dir, saved = tmp_path / "lab", tmp_path / "saved"
    for node in NODES:   # a lab just brought up: each node has its initial config and nothing else
        (lab_dir / "nodes" / node).mkdir(parents=True)
        (lab_dir / "nodes" / node / "applicationHost.config").write_text("<configuration %s/>" % node)
    proc = _run("save_nodes; echo saved", lab_dir, saved)
    assert proc.returncode == 0 and proc.stdout.strip() == "saved", (proc.stdout, proc.stderr)

    for node in NODES:   # what the demo's runs leave on each node
        (lab_dir / "nodes" / node / "applicationHost.config").write_text("<configuration changed/>")
        (lab_dir / "nodes" / node / "runtime.json").write_text("{}")
        (lab_dir / "nodes" / node / "applied_policy.json").write_text("{}")
    proc = _run("restore_nodes; echo restored", lab_dir, saved)
    assert proc.returncode == 0 and proc.stdout.strip() == "restored", (proc.stdout, proc.stderr)
    for node in NODES:
        files = sorted(p.name for p in (lab_dir / "nodes" / node).iterdir())
        assert files == ["applicationHost.config"], (node, files)
        assert (lab_dir / "nodes" / node / "applicationHost.config").read_text() == "<configuration %s/>" % node


def test_demo_keeps_files_a_used_lab_already_had(tmp_path: Path) -> None:
    lab_dir, saved = tmp_path / "lab", tmp_path / "saved"
    for node in NODES:
        (lab_dir / "nodes" / node).mkdir(parents=True)
        for name in ("applicationHost.config", "runtime.json", "applied_policy.json"):
            (lab_dir / "nodes" / node / name).write_text("%s of %s" % (name, node))
    assert _run("save_nodes", lab_dir, saved).returncode == 0
    for node in NODES:
        (lab_dir / "nodes" / node / "runtime.json").unlink()
    assert _run("restore_nodes", lab_dir, saved).returncode == 0
    for node in NODES:
        assert (lab_dir / "nodes" / node / "runtime.json").read_text() == "runtime.json of %s" % node


# `cond && cmd` as the last statement of a function or loop body: under `set -e` a false `cond` makes
# the function or loop return 1 and the script stop without a word (the cause of a silent `make demo`).
_AND_LIST_AT_END = re.compile(r"&&[^|;&]*(;\s*(done|\})\s*$)")
_BODY_END = re.compile(r"^\s*(done|\})\s*$")


@pytest.mark.parametrize("script", _shell_scripts(), ids=lambda p: str(p.relative_to(REPO)))
def test_no_and_list_ends_a_function_or_loop(script: Path) -> None:
    lines = script.read_text().splitlines()
    bad = []
    for number, line in enumerate(lines, 1):
        code = line.split(" #", 1)[0].rstrip()
        if code.lstrip().startswith("#"):
            continue
        following = lines[number] if number < len(lines) else ""
        ends_body = ("&&" in code and not code.endswith(("&&", "\\", "||"))
                     and "||" not in code.rsplit("&&", 1)[1] and _BODY_END.match(following))
        if _AND_LIST_AT_END.search(code) or ends_body:
            bad.append("%d: %s" % (number, line.strip()))
    assert not bad, "%s: an && list ends a function or loop body (write it as if/then/fi):\n%s" % (
        script.relative_to(REPO), "\n".join(bad))
