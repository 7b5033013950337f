"""Repository-level checks: ansible-lint (production profile), changelog fragments, ansible-doc for every
module and callback, and the execution-environment definition."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
COLLECTIONS = REPO / "build" / "collections"


def _env() -> dict[str, str]:
    return dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS), ANSIBLE_NOCOLOR="1",
                PATH="%s:%s" % (VENV_BIN, os.environ.get("PATH", "")))


def _modules() -> list[str]:
    return sorted(p.stem for p in (REPO / "plugins" / "modules").glob("*.py") if p.stem != "__init__")


def test_ansible_lint_production_profile() -> None:
    proc = subprocess.run([str(VENV_BIN / "ansible-lint"), "--offline", "--profile", "production", "--nocolor"],
                          cwd=REPO, env=_env(), capture_output=True, text=True, check=False, timeout=900)
    assert proc.returncode == 0, "ansible-lint failed:\n%s\n%s" % (proc.stdout[-15000:], proc.stderr[-5000:])


def test_changelog_fragments_lint() -> None:
    proc = subprocess.run([str(VENV_BIN / "antsibull-changelog"), "lint"], cwd=REPO, capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 0 and not proc.stdout.strip(), proc.stdout + proc.stderr


@pytest.mark.parametrize("module", _modules())
def test_ansible_doc_renders(module: str) -> None:
    proc = subprocess.run([str(VENV_BIN / "ansible-doc"), "webfarm.winauth.%s" % module], cwd=REPO, env=_env(),
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "webfarm.winauth.%s" % module in proc.stdout
    for heading in ("OPTIONS", "EXAMPLES", "RETURN VALUES"):
        assert heading in proc.stdout, "%s: ansible-doc shows no %s section" % (module, heading)


@pytest.mark.parametrize("plugin", sorted(p.stem for p in (REPO / "plugins" / "callback").glob("*.py")))
def test_ansible_doc_renders_callbacks(plugin: str) -> None:
    proc = subprocess.run([str(VENV_BIN / "ansible-doc"), "-t", "callback", "webfarm.winauth.%s" % plugin], cwd=REPO,
                          env=_env(), capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    for heading in ("OPTIONS", "EXAMPLES"):
        assert heading in proc.stdout, "%s: ansible-doc -t callback shows no %s" % (plugin, heading)


def test_test_files_have_names_unique_in_the_tree() -> None:
    """pytest imports each test file by its bare name (no packages under tests/): two files of one name in two
    folders stop the whole run at collection."""
    seen: dict[str, list[str]] = {}
    for path in sorted((REPO / "tests").rglob("test_*.py")):
        seen.setdefault(path.name, []).append(str(path.relative_to(REPO)))
    assert {name: paths for name, paths in seen.items() if len(paths) > 1} == {}


def test_the_makefile_names_only_test_files_that_exist() -> None:
    """A target that names a missing test file runs nothing and fails with pytest's 'file not found'."""
    named = set(re.findall(r"tests/[\w/.-]+\.py", (REPO / "Makefile").read_text(encoding="utf-8")))
    assert named and sorted(path for path in named if not (REPO / path).is_file()) == []


def test_action_group_lists_every_directory_module() -> None:
    runtime = yaml.safe_load((REPO / "meta" / "runtime.yml").read_text())
    group = set(runtime["action_groups"]["ad"])
    for module in _modules():
        text = (REPO / "plugins" / "modules" / ("%s.py" % module)).read_text()
        uses_ad_fragment = "webfarm.winauth.ad" in text.split("EXAMPLES", 1)[0]
        assert uses_ad_fragment == (module in group), (
            "%s: modules with the ad doc fragment and the ad action group must be the same set" % module)


def test_execution_environment_definition(tmp_path: Path) -> None:
    proc = subprocess.run([str(VENV_BIN / "ansible-builder"), "create", "-f", str(REPO / "execution-environment.yml"),
                           "-c", str(tmp_path / "context"), "--output-filename", "Containerfile"],
                          cwd=REPO, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (tmp_path / "context" / "Containerfile").exists()


def test_requirements_are_the_ones_declared_for_execution_environments() -> None:
    meta = yaml.safe_load((REPO / "meta" / "execution-environment.yml").read_text())
    assert (REPO / meta["dependencies"]["python"]).is_file()
    assert (REPO / meta["dependencies"]["system"]).is_file()
