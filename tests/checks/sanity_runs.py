"""ansible-test sanity runs, one per release, on copies of the working tree laid out as
ansible_collections/webfarm/winauth.

The runs are CPU-bound and need neither the lab nor the other tests, while the lab tests leave a
core mostly idle: so they start in the background (niced) as soon as the session has collected
them, one after another, and each sanity test waits for its release's result at the end of the
session (tests/checks/conftest.py).
"""

from __future__ import annotations

import concurrent.futures
import os
import shutil
import subprocess
import sys
import tempfile
import time
import typing as t
from dataclasses import dataclass
from pathlib import Path

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


@dataclass
class SanityResult:
    returncode: int
    output: str
    seconds: float


def run_sanity(release: str | None, started_process: t.Callable[[subprocess.Popen], None] = lambda _p: None
               ) -> SanityResult:
    """ansible-test sanity of ``release`` (None: the test venv's) on a fresh copy; never raises."""
    started = time.monotonic()
    bin_dir = _release_bin(release)
    if not (bin_dir / "ansible-test").exists():
        return SanityResult(-1, "run make compat (make test does) to create %s" % bin_dir, 0.0)
    try:
        _install_get_pip_shim(bin_dir)
        with tempfile.TemporaryDirectory(prefix="winauth-sanity-") as tmp:
            root = Path(tmp) / "ansible_collections" / "webfarm" / "winauth"
            for name in _collection_files():
                target = root / name
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(REPO / name, target)
            # ansible-test lists files through git when the collection is a repository.
            subprocess.run(["git", "init", "-q"], cwd=root, check=True)
            subprocess.run(["git", "add", "-A"], cwd=root, check=True)
            env = dict(os.environ, PATH="%s:%s" % (bin_dir, os.environ.get("PATH", "")))
            with subprocess.Popen(["nice", "-n", "10", str(bin_dir / "ansible-test"), "sanity", "--python",
                                   "%d.%d" % sys.version_info[:2], "--venv", "--color", "no"], cwd=root, env=env,
                                  stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  text=True) as proc:
                started_process(proc)
                try:
                    output, _none = proc.communicate(timeout=1500)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    output, _none = proc.communicate()
                    output += "\nansible-test sanity did not finish in 1500 s"
            return SanityResult(proc.returncode, output, time.monotonic() - started)
    except Exception as exc:  # pylint: disable=broad-except  # reported by the test that waits for it
        return SanityResult(-1, "%s: %s" % (type(exc).__name__, exc), time.monotonic() - started)


class BackgroundSanity:
    """The selected releases' runs, one after another, in one background thread."""

    def __init__(self, releases: list[str | None]) -> None:
        self._running: subprocess.Popen | None = None
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="sanity")
        self._futures = {release: self._pool.submit(run_sanity, release, self._started) for release in releases}

    def _started(self, proc: subprocess.Popen) -> None:
        self._running = proc

    def result(self, release: str | None) -> SanityResult:
        future = self._futures.get(release)
        return future.result() if future else run_sanity(release)

    def stop(self) -> None:
        """A session that ends early (-x, Ctrl-C) does not wait for runs nobody will report."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        if self._running is not None and self._running.poll() is None:
            self._running.kill()
