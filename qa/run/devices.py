"""Which device and compute type the speech models run on: ``device = auto|cpu|cuda``.

``auto`` takes the GPU when CTranslate2 (which runs Whisper) sees one. The compute type ``auto``
is int8 on CPU and float16 on CUDA (int8_float16 where the GPU has no fast float16); on CUDA,
Whisper decodes ``gpu_batch_size`` chunks of a recording at once (faster-whisper's batched
pipeline); on CPU it decodes sequentially, the measured default there. The choice and the reason
are logged and written to the run report::

    choice = choose_device(config)      # DeviceChoice(device='cpu', compute_type='int8', ...)
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from qa.config import Config, ConfigError

__all__ = ["DeviceChoice", "choose_device", "cuda_device_count"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeviceChoice:
    """The resolved device, compute type and Whisper batch size, with why."""

    device: str  # cpu | cuda
    compute_type: str
    batch_size: int  # 0: sequential decoding
    reason: str

    def to_json(self) -> dict[str, object]:
        return {
            "device": self.device,
            "compute_type": self.compute_type,
            "batch_size": self.batch_size,
            "reason": self.reason,
        }


def cuda_device_count() -> int:
    """GPUs CTranslate2 can use (0 without a CUDA build or driver)."""
    import ctranslate2

    try:
        return int(ctranslate2.get_cuda_device_count())
    except Exception:  # a CUDA build without a driver raises instead of answering 0
        return 0


def _supported(device: str) -> set[str]:
    import ctranslate2

    try:
        return set(ctranslate2.get_supported_compute_types(device))
    except Exception:
        return set()


def choose_device(
    config: Config,
    *,
    gpus: Callable[[], int] = cuda_device_count,
    supported: Callable[[str], set[str]] = _supported,
) -> DeviceChoice:
    """Resolve ``config.device`` and ``config.compute_type``; raise ConfigError for a choice that
    cannot work here (cuda without a GPU, a compute type the device lacks)."""
    count = gpus()
    if config.device == "auto":
        device = "cuda" if count else "cpu"
        reason = f"auto: {count} CUDA device(s)" if count else "auto: no CUDA device"
    elif config.device == "cuda" and not count:
        raise ConfigError(
            "device is cuda but CTranslate2 sees no GPU: check the driver (nvidia-smi) and that "
            "the CUDA build of ctranslate2 is installed, or set device = 'cpu' / 'auto'"
        )
    else:
        device, reason = config.device, f"configured {config.device}"
    types = supported(device)
    if config.compute_type == "auto":
        if device == "cuda":
            compute_type = "float16" if "float16" in types or not types else "int8_float16"
        else:
            compute_type = "int8"
    else:
        compute_type = config.compute_type
        if types and compute_type not in types:
            raise ConfigError(
                f"compute_type {compute_type!r} is not supported on {device} here "
                f"(supported: {', '.join(sorted(types))}); set compute_type = 'auto'"
            )
    batch_size = config.gpu_batch_size if device == "cuda" else 0
    choice = DeviceChoice(device, compute_type, batch_size, reason)
    log.info(
        "speech on %s, %s%s (%s)",
        device,
        compute_type,
        f", batches of {batch_size}" if batch_size else "",
        reason,
    )
    return choice
