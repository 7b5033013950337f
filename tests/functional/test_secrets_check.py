"""The session-wide secrets check itself: a remembered secret in a captured output is reported as a leak."""

from __future__ import annotations

from harness import secrets


def test_a_secret_in_a_captured_output_is_reported_by_whose_it_is_never_by_its_value() -> None:
    secret = "Planted-%s-Pa55!" % id(secrets)
    secrets.remember(secret, "the planted test secret")
    before = list(secrets._leaks)  # pylint: disable=protected-access
    secrets.check("TASK [x] ok: msg=%s" % secret, "a planted output")
    planted = secrets._leaks[len(before):]  # pylint: disable=protected-access
    try:
        assert planted == ["the planted test secret appeared in a planted output"]
        assert secret not in " ".join(planted)
        # The seed's passwords and the lab's $LAB_*PASSWORD values are among those looked for.
        assert "Lab-Admin-Pa55!" in secrets._known  # pylint: disable=protected-access
    finally:
        del secrets._leaks[len(before):]  # pylint: disable=protected-access
        secrets._known.pop(secret, None)  # pylint: disable=protected-access
