"""ansible-test sanity on a copy of the working tree laid out as ansible_collections/webfarm/winauth."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent

# ansible-test bootstraps pip in its --venv environments with a script it downloads from a
# host this kind of machine may not reach. This shim does the same job with ensurepip and
# the package index that pip is configured for.
_GET_PIP_SHIM = '''"""Stand-in for get-pip.py used by ansible-test: ensurepip, then pip itself installs the rest."""
import subprocess
import sys

args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
subprocess.run([sys.executable, "-m", "ensurepip", "--upgrade"], check=True, stdout=subprocess.DEVNULL)
# get-pip.py takes pip install's options and requirements without the "install" verb.
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install", *args]))
'''


# The pip version ansible-test installs in its --venv environments, as the release in that venv says.
_PIP_VERSION = """
import sys
from ansible_test._internal import python_requirements
class _Py:  # the one attribute get_venv_packages() reads
    version = "%d.%d" % sys.version_info[:2]
print(python_requirements.get_venv_packages(_Py())["pip"])
"""
# The releases of the compatibility matrix besides the test venv's (make compat creates their venvs).
RELEASES = (None, "2.16", "2.17", "2.18")


def _release_bin(release: str | None) -> Path:
    return VENV_BIN if release is None else REPO / "build" / ("ansible-%s" % release) / "bin"


def _install_get_pip_shim(bin_dir: Path) -> None:
    cache = Path.home() / ".ansible" / "test" / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    version = subprocess.run([str(bin_dir / "python"), "-c", _PIP_VERSION], capture_output=True, text=True,
                             check=True).stdout.strip()
    shim = cache / ("get_pip_%s.py" % version.replace(".", "_"))
    if not shim.exists() or shim.read_text() != _GET_PIP_SHIM:
        shim.write_text(_GET_PIP_SHIM)


def _collection_files() -> list[str]:
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=REPO,
                            capture_output=True, check=True).stdout.decode().split("\0")
    return [name for name in listed if name and (REPO / name).is_file()]


@pytest.mark.parametrize("release", RELEASES, ids=["venv" if r is None else r for r in RELEASES])
def test_ansible_test_sanity(tmp_path: Path, release: str | None) -> None:
    bin_dir = _release_bin(release)
    assert (bin_dir / "ansible-test").exists(), "run make compat (make test does) to create %s" % bin_dir
    _install_get_pip_shim(bin_dir)
    root = tmp_path / "ansible_collections" / "webfarm" / "winauth"
    for name in _collection_files():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, target)
    # ansible-test lists files through git when the collection is a repository.
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    env = dict(os.environ, PATH="%s:%s" % (bin_dir, os.environ.get("PATH", "")))
    proc = subprocess.run([str(bin_dir / "ansible-test"), "sanity", "--python", "%d.%d" % sys.version_info[:2],
                           "--venv", "--color", "no"], cwd=root, env=env, capture_output=True, text=True,
                          check=False, timeout=1500)
    output = proc.stdout + proc.stderr
    problems = [line for line in output.splitlines()
                if line.startswith(("ERROR", "FATAL", "WARNING: Skipping")) or ": error:" in line or ":0:0:" in line]
    assert proc.returncode == 0, "ansible-test sanity failed:\n" + "\n".join(problems)[-20000:]
    assert "Running sanity test" in output
