"""The hypothesis profiles: ``ci`` by default (bounded, derandomized), ``thorough`` on request.

Importing `mt_operators.testing` (as every property test here does, directly or through
`mt_tensor.testing`) loads the profile named by ``HYPOTHESIS_PROFILE``, default ``ci``.
"""

from __future__ import annotations

import os
import subprocess
import sys

from hypothesis import settings

import mt_operators.testing  # noqa: F401 (loads the profile)

PROBE = "import mt_operators.testing; from hypothesis import settings; d = settings.default; " + (
    "print(d.max_examples, d.derandomize, d.deadline)"
)


def probe(profile: str | None, ci: bool = False) -> str:
    """``max_examples derandomize deadline`` of the default settings under ``profile``.

    ``ci`` sets ``CI=1``, under which hypothesis changes its own defaults; it is removed otherwise.
    """
    env = {k: v for k, v in os.environ.items() if k not in ("HYPOTHESIS_PROFILE", "CI")}
    if profile is not None:
        env["HYPOTHESIS_PROFILE"] = profile
    if ci:
        env["CI"] = "1"
    done = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def test_this_run_uses_the_selected_profile() -> None:
    expected = settings.get_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
    assert settings.default is not None
    assert settings.default.max_examples == expected.max_examples
    assert settings.default.derandomize == expected.derandomize


def test_ci_is_the_bounded_reproducible_default() -> None:
    ci = settings.get_profile("ci")
    for on_ci in (False, True):
        assert probe(None, ci=on_ci) == f"{ci.max_examples} True None"
    assert ci.max_examples <= 100


def test_thorough_runs_many_more_examples() -> None:
    thorough = settings.get_profile("thorough")
    assert thorough.max_examples >= 10 * settings.get_profile("ci").max_examples
    for on_ci in (False, True):
        assert probe("thorough", ci=on_ci) == f"{thorough.max_examples} False None"
