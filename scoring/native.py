"""Scoring's hot modules compiled to C with mypyc, used only while built from this very source.

The rubric engine's inner loops — normalising and tokenising every turn, walking the phrase
trie, evaluating conditions, collecting evidence — are plain typed Python (checked by mypy).
``make setup`` compiles them with mypyc (``scripts/compile-scoring.py``) into
``scoring/_compiled/``; :func:`use_compiled`, called first thing by ``scoring/__init__.py``, puts
that folder ahead of the sources on the package's path, so ``import scoring.index`` loads the
compiled module — 1.3 to 1.5 times faster on the scoring benchmark (docs/benchmarks.md).

The compiled modules are used only while the manifest written with them matches the sources
exactly: a hash of every module of ``scoring``, ``sentences`` and ``calldata`` (what the
compiled code was type-checked against) and this interpreter's extension suffix. After any edit
scoring runs as plain Python — the same verdicts, slower — and says once how to rebuild, so a
stale build never scores a call. ``CALLQA_PURE_PYTHON=1`` runs plain Python on purpose.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import sysconfig
import tempfile
from pathlib import Path

logger = logging.getLogger(__name__)

PACKAGE = Path(__file__).resolve().parent
ROOT = PACKAGE.parent
FOLDER = PACKAGE / "_compiled"
MANIFEST = "manifest.json"
PURE_PYTHON_VARIABLE = "CALLQA_PURE_PYTHON"

#: The modules compiled: every one a call's scoring runs through. The rest of ``scoring``
#: (rubric schema and loading, pydantic models) runs once per rubric, not per call.
COMPILED = (
    "compiled",
    "context",
    "evaluate",
    "fuzzy",
    "hits",
    "index",
    "matching",
    "meaning",
    "normalize",
    "phrases",
    "scorer",
    "sentiment",
    "tokens",
)
#: The packages whose source the compiled code was built against.
SOURCES = ("scoring", "sentences", "calldata")
# the compiled modules' shared library: scoring/_compiled/engine__mypyc*.so
GROUP = "scoring.engine"


def fingerprint(root: Path = ROOT) -> dict[str, str]:
    """What a build is valid for: the interpreter's extension suffix and a hash of the sources."""
    digest = hashlib.sha256()
    for package in SOURCES:
        for path in sorted((root / package).glob("*.py")):
            digest.update(f"{package}/{path.name}\0".encode())
            digest.update(path.read_bytes())
    return {"extension": str(sysconfig.get_config_var("EXT_SUFFIX")), "sources": digest.hexdigest()}


def use_compiled(package_path: list[str], folder: Path = FOLDER) -> bool:
    """Put the compiled modules ahead of the sources on ``package_path`` (the ``scoring``
    package's ``__path__``) when they were built from these sources; True when they are used."""
    manifest = folder / MANIFEST
    if os.environ.get(PURE_PYTHON_VARIABLE) == "1":
        return False
    if not manifest.is_file():
        logger.info("scoring: no compiled modules in %s; scoring runs as plain Python", folder)
        return False
    try:
        built_for = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        logger.warning("scoring: %s is unreadable (%s); scoring runs as plain Python", manifest,
                       error)  # fmt: skip
        return False
    if built_for != fingerprint():
        logger.warning(
            "scoring: the compiled modules in %s were built from other sources; scoring runs as "
            "plain Python (same verdicts, slower) until `make setup` rebuilds them",
            folder,
        )
        return False
    if str(folder) not in package_path:
        package_path.insert(0, str(folder))
    return True


def build(folder: Path = FOLDER) -> Path:
    """Compile :data:`COMPILED` with mypyc into ``folder`` (replacing what is there); the
    manifest is written last, so a build that fails leaves nothing that would be used."""
    from mypyc.build import mypycify  # mypy is a development dependency
    from setuptools import setup  # type: ignore[import-untyped]

    paths = [f"scoring/{name}.py" for name in COMPILED]
    expected = fingerprint()
    with tempfile.TemporaryDirectory(prefix="callqa-mypyc-") as scratch:
        work = Path(scratch)
        previous = Path.cwd()
        os.chdir(ROOT)  # mypyc names the modules by their paths from here
        try:
            modules = mypycify(
                ["--no-warn-unused-configs", *paths],
                opt_level="3",
                target_dir=str(work / "c"),
                group_name=GROUP,
            )
            setup(
                name="callqa-scoring-compiled",
                ext_modules=modules,
                script_args=["--quiet", "build_ext", "--parallel", str(os.cpu_count() or 1),
                             "--build-lib", str(work / "lib"), "--build-temp", str(work / "tmp")],
            )  # fmt: skip
        finally:
            os.chdir(previous)
        built = sorted((work / "lib" / "scoring").glob("*" + expected["extension"]))
        if fingerprint() != expected:
            raise RuntimeError("the sources changed while they were being compiled; build again")
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        for path in built:
            shutil.copy2(path, folder / path.name)
    (folder / MANIFEST).write_text(json.dumps(expected, indent=2) + "\n", encoding="utf-8")
    return folder
