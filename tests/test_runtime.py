"""The process environment (qa/runtime.py): one definition, applied by `qa` and by the library
entry points, never overriding what the operator set."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from qa import runtime

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_apply_fills_in_what_is_not_set_and_keeps_what_is() -> None:
    environ = {"OPENBLAS_NUM_THREADS": "4", "PATH": "/bin"}
    runtime.apply(environ)
    assert environ == {**runtime.ENV, "OPENBLAS_NUM_THREADS": "4", "PATH": "/bin"}


def _environment_after(code: str) -> dict[str, str]:
    """Run ``code`` in a fresh interpreter whose environment has none of ENV; return ENV's
    variables as that process has them afterwards."""
    env = {k: v for k, v in os.environ.items() if k not in runtime.ENV}
    env["PYTHONPATH"] = os.pathsep.join([REPO, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    names = list(runtime.ENV)
    script = (
        f"import json, os\n{code}\nprint(json.dumps({{k: os.environ.get(k) for k in {names!r}}}))"
    )
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.splitlines()[-1])


def test_the_cli_applies_it_on_import() -> None:
    assert _environment_after("import qa.cli") == dict(runtime.ENV)


def test_run_pipeline_applies_it_without_the_cli() -> None:
    code = (
        "from qa.config import Config, ConfigError\n"
        "from qa.run.pipeline import run_pipeline\n"
        "try:\n    run_pipeline(Config())\nexcept ConfigError:\n    pass"  # no store: stops early
    )
    assert _environment_after(code) == dict(runtime.ENV)


def test_importing_the_library_alone_changes_nothing() -> None:
    # the library applies the environment when it is used, not as a side effect of an import
    assert set(_environment_after("import qa.run.pipeline").values()) == {None}
