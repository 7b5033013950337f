"""ansible-test sanity on a copy of the working tree laid out as ansible_collections/webfarm/winauth, on the
test venv's ansible-core and on each older release of the compatibility matrix (``make compat``).

The runs themselves start in the background when the session has collected these tests (see
sanity_runs.py); these tests run last and report them.
"""

from __future__ import annotations

import pytest

from sanity_runs import RELEASES


@pytest.mark.parametrize("release", RELEASES, ids=["venv" if r is None else r for r in RELEASES])
def test_ansible_test_sanity(background_sanity, release: str | None) -> None:
    result = background_sanity.result(release)
    output = result.output
    problems = [line for line in output.splitlines()
                if line.startswith(("ERROR", "FATAL", "WARNING: Skipping")) or ": error:" in line or ":0:0:" in line]
    assert result.returncode == 0, "ansible-test sanity failed:\n" + ("\n".join(problems) or output)[-20000:]
    assert "Running sanity test" in output
