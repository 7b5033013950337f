"""The compatibility matrix: ansible-core 2.16, 2.17 and 2.18 against the lab (2.19 runs the whole suite).

Each release runs from its own venv under build/ (``make compat``, which ``make test`` runs first,
creates them from the package index). With each: the web_auth/app_pool round trip over WinRM HTTPS
(the default), PSRP and SSH (the command the runner sends differs by release: see
docs/remote-contract.md), and both farm roles over WinRM HTTPS, converging and then changing nothing.
ansible-test sanity per release is in tests/checks/test_sanity.py. ansible-core 2.20 needs Python
3.12, which these machines lack: it is not part of the matrix.
"""

from __future__ import annotations

import pytest

from harness.connections import arr_farm, lb_farm, release_bin, round_trip

RELEASES = ("2.16", "2.17", "2.18")
WAYS = [("winrm_https", "ntlm"), ("psrp_https", "ntlm"), ("ssh", "key")]


@pytest.fixture(params=RELEASES)
def release(request) -> str:
    bin_dir = release_bin(request.param)
    assert (bin_dir / "ansible-playbook").exists(), "run make compat (make test does) to create %s" % bin_dir
    return request.param


@pytest.mark.parametrize("connection,transport", WAYS, ids=["%s-%s" % way for way in WAYS])
def test_round_trip_on_older_releases(lab, token, tmp_path, release, connection, transport) -> None:
    round_trip(release_bin(release), tmp_path, lab, connection, transport, token)


def test_lb_farm_on_older_releases(lab, token, tmp_path, release) -> None:
    lb_farm(release_bin(release), tmp_path, lab, "winrm_https", "ntlm", token)


def test_arr_farm_on_older_releases(lab, token, tmp_path, release) -> None:
    arr_farm(release_bin(release), tmp_path, lab, "winrm_https", "ntlm", token)
