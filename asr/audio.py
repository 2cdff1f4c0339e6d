"""Decoding call recordings from an Asterisk store into float32 arrays, one per channel.

Asterisk writes many formats (``wav``, ``wav16``, ``WAV``/``wav49`` = GSM 6.10 in WAV, raw
``gsm``, headerless ``ulaw``/``alaw``/``sln``, ``g722``, ``g729``) and sites often convert to
``mp3`` later. PyAV (bundled ffmpeg) decodes them all; the headerless ones carry no header to
probe, so their format is named from the extension. Channels are kept apart: on a two-channel
recording each party is on its own channel, which is worth more than any diarization::

    audio = load_call_audio([Path("q-600-...-1705347015.101.wav")])
    audio.sample_rate, audio.duration, len(audio.channels)

A file that cannot become audio raises :class:`AudioDecodeError` (or its subclass
:class:`AudioIncompleteError` for a recording that is still being written), naming the file.
"""

from __future__ import annotations

import logging
import os
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import soxr

log = logging.getLogger(__name__)

#: The rate Whisper and pyannote work at.
TARGET_RATE = 16000

# Headerless formats: (ffmpeg demuxer, sample rate). Asterisk's format modules name them.
_RAW_FORMATS: dict[str, tuple[str, int]] = {
    "ulaw": ("mulaw", 8000),
    "ul": ("mulaw", 8000),
    "mu": ("mulaw", 8000),
    "ulw": ("mulaw", 8000),
    "pcm": ("mulaw", 8000),  # Asterisk's format_pcm: ".pcm" is mu-law
    "alaw": ("alaw", 8000),
    "al": ("alaw", 8000),
    "alw": ("alaw", 8000),
    "sln": ("s16le", 8000),
    "raw": ("s16le", 8000),
    "sln12": ("s16le", 12000),
    "sln16": ("s16le", 16000),
    "sln24": ("s16le", 24000),
    "sln32": ("s16le", 32000),
    "sln44": ("s16le", 44100),
    "sln48": ("s16le", 48000),
    "sln96": ("s16le", 96000),
    "sln192": ("s16le", 192000),
    "gsm": ("gsm", 8000),
    "g722": ("g722", 16000),
    "g729": ("g729", 8000),
}


# Codecs whose packets are fixed-size blocks (bytes): a shorter packet is padding or a cut.
_BLOCK_BYTES = {"gsm_ms": 65, "gsm": 33}


class AudioDecodeError(Exception):
    """A recording could not be decoded; the message names the file and what to do."""


class AudioIncompleteError(AudioDecodeError):
    """The WAV header says the recording is still being written (RIFF/data size 0).

    Asterisk fills in the sizes when the call ends; retry on the next run. A file that stays
    like this was left by a crash and needs its header repaired (e.g. ``sox --ignore-length``).
    """


@dataclass(frozen=True)
class Audio:
    """Decoded audio: one float32 array per channel (all the same length), in [-1, 1]."""

    channels: tuple[np.ndarray, ...]
    sample_rate: int
    source: tuple[Path, ...]

    @property
    def duration(self) -> float:
        """Length in seconds."""
        if not self.channels:
            return 0.0
        return len(self.channels[0]) / self.sample_rate

    def mixdown(self) -> np.ndarray:
        """All channels averaged into one (the conversation as a mono recording would hold it)."""
        if len(self.channels) == 1:
            return self.channels[0]
        return np.asarray(np.mean(np.stack(self.channels), axis=0, dtype=np.float32))


def load_call_audio(paths: Sequence[Path | str], *, sample_rate: int | None = TARGET_RATE) -> Audio:
    """Decode a call's recording: one file (mono or multi-channel) or two leg files.

    Two files are the two legs of one call (MixMonitor ``r()``/``t()`` or Monitor's ``-in``/
    ``-out``): each becomes one channel, the first file channel 0, the shorter padded with
    silence at the end (Asterisk keeps legs in sync from the start). ``sample_rate=None`` keeps
    the native rate of a single file; legs are always brought to a common rate.
    """
    if not paths:
        raise ValueError("load_call_audio needs one recording path, or two for a leg pair")
    if len(paths) == 1:
        return load_audio(paths[0], sample_rate=sample_rate)
    if len(paths) != 2:
        raise ValueError(f"a call has one recording or two legs, got {len(paths)} paths")
    legs = [load_audio(path, sample_rate=sample_rate) for path in paths]
    rate = sample_rate or max(leg.sample_rate for leg in legs)
    channels = []
    for leg in legs:
        if len(leg.channels) > 1:
            log.warning("leg %s has %d channels; mixing down", leg.source[0], len(leg.channels))
        channels.append(_resample(leg.mixdown(), leg.sample_rate, rate))
    length = max(len(channel) for channel in channels)
    padded = tuple(np.pad(channel, (0, length - len(channel))) for channel in channels)
    return Audio(padded, rate, tuple(Path(p) for p in paths))


def load_audio(path: Path | str, *, sample_rate: int | None = TARGET_RATE) -> Audio:
    """Decode one recording file, keeping its channels apart, resampled to ``sample_rate``
    (``None`` keeps the native rate).

    Raises :class:`AudioDecodeError` for a missing, unreadable, empty, header-only or corrupt
    file and :class:`AudioIncompleteError` for a WAV that is still being written.
    """
    path = Path(path)
    _check_file(path)
    channels, native_rate = _decode(path)
    rate = sample_rate or native_rate
    resampled = tuple(_resample(channel, native_rate, rate) for channel in channels)
    return Audio(resampled, rate, (path,))


def _check_file(path: Path) -> None:
    try:
        with path.open("rb") as handle:
            head = handle.read(4096)
            size = os.fstat(handle.fileno()).st_size
    except FileNotFoundError:
        raise AudioDecodeError(f"{path}: no such file; check the store path and the CDR") from None
    except PermissionError:
        raise AudioDecodeError(
            f"{path}: permission denied; Asterisk writes recordings as the asterisk user, often "
            "mode 0600: run as that user or add read access for this one (e.g. group asterisk)"
        ) from None
    except IsADirectoryError:
        raise AudioDecodeError(f"{path}: is a directory, not a recording") from None
    except OSError as error:
        raise AudioDecodeError(f"{path}: cannot be read ({error.strerror})") from None
    if size == 0:
        raise AudioDecodeError(f"{path}: empty file (0 bytes), nothing was recorded")
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        _check_wav_header(path, head, size)


def _check_wav_header(path: Path, head: bytes, size: int) -> None:
    """Catch the two WAV states that ffmpeg would misread: header only, and unfinished."""
    riff_size = struct.unpack_from("<I", head, 4)[0]
    offset = 12
    data_size = data_start = None
    while offset + 8 <= len(head):
        chunk_id = head[offset : offset + 4]
        chunk_size = struct.unpack_from("<I", head, offset + 4)[0]
        if chunk_id == b"data":
            data_size, data_start = chunk_size, offset + 8
            break
        offset += 8 + chunk_size + (chunk_size & 1)
    if data_start is None:
        if offset >= size:  # the chunks end where the file ends: no data chunk at all
            raise AudioDecodeError(
                f"{path}: WAV header only ({size} bytes), no audio; an unanswered call leaves "
                "such a file, skip it"
            )
        return  # data chunk beyond the bytes read (large metadata): the decoder judges
    payload = size - data_start
    if payload <= 0:
        raise AudioDecodeError(
            f"{path}: WAV header only ({size} bytes), no audio; an unanswered call leaves such "
            "a file, skip it"
        )
    if riff_size == 0 or data_size == 0:
        raise AudioIncompleteError(
            f"{path}: WAV header sizes are 0 with {payload} bytes of audio after it: the call is "
            "still being recorded, retry on the next run (if it stays so, the recorder crashed: "
            "repair the header, e.g. sox --ignore-length in.wav out.wav)"
        )


def _decode(path: Path) -> tuple[list[np.ndarray], int]:
    suffix = path.suffix.lower().lstrip(".")
    # A file with a real header is probed by content: sites rename (".wav" that is mp3).
    raw = _RAW_FORMATS.get(suffix)
    if raw is not None and _has_known_header(path):
        raw = None
    try:
        if raw is None:
            container = av.open(str(path))
        else:
            fmt, rate = raw
            options = {"sample_rate": str(rate), "ch_layout": "mono"}
            container = av.open(str(path), format=fmt, options=options)
        with container:
            return _read_stream(container, path)
    except AudioDecodeError:
        raise
    except (av.FFmpegError, ValueError, IndexError) as error:
        hint = (
            f"; a headerless .{suffix} file is read as {raw[0]} at {raw[1]} Hz"
            if raw
            else "; check it with ffprobe, or copy it again from the PBX"
        )
        raise AudioDecodeError(f"{path}: corrupt or not audio ({error}){hint}") from error


def _has_known_header(path: Path) -> bool:
    with path.open("rb") as handle:
        head = handle.read(12)
    # No MPEG frame-sync test: mu-law silence is 0xFF bytes and would look like one.
    return head.startswith((b"RIFF", b"RIFX", b"ID3", b"fLaC", b"OggS", b"#!AMR"))


def _read_stream(
    container: av.container.InputContainer, path: Path
) -> tuple[list[np.ndarray], int]:
    if not container.streams.audio:
        raise AudioDecodeError(f"{path}: has no audio stream")
    stream = container.streams.audio[0]
    rate = stream.codec_context.sample_rate or stream.rate
    n_channels = stream.codec_context.channels
    if not rate or not n_channels:
        raise AudioDecodeError(f"{path}: the audio stream has no sample rate or channel count")
    # Planar float32 keeps channels apart; the sample rate is left to soxr (better quality).
    resampler = av.AudioResampler(format="fltp", layout=stream.layout, rate=rate)
    blocks: list[np.ndarray] = []
    block_size = _BLOCK_BYTES.get(stream.codec_context.name, 0)
    for packet in _packets(container, stream, path):
        if 0 < packet.size < block_size:  # (size 0 is the end of stream: it flushes)
            # GSM in WAV is 65-byte blocks; sox and Asterisk pad an odd data chunk with one byte,
            # and a copy cut short ends mid-block: neither is a block to decode.
            log.debug("%s: %d trailing byte(s) after the last block, ignored", path, packet.size)
            continue
        for frame in packet.decode():
            for converted in resampler.resample(frame):
                blocks.append(converted.to_ndarray())
    for converted in resampler.resample(None):
        blocks.append(converted.to_ndarray())
    if not blocks:
        raise AudioDecodeError(f"{path}: decoded to no audio samples (corrupt or truncated)")
    samples = np.concatenate(blocks, axis=1).astype(np.float32, copy=False)
    if samples.shape[1] == 0:
        raise AudioDecodeError(f"{path}: decoded to no audio samples (corrupt or truncated)")
    np.clip(samples, -1.0, 1.0, out=samples)
    log.debug("decoded %s: %d ch, %d Hz, %d samples", path, n_channels, rate, samples.shape[1])
    return [np.ascontiguousarray(row) for row in samples], int(rate)


def _packets(
    container: av.container.InputContainer, stream: av.AudioStream, path: Path
) -> Iterator[av.Packet[av.AudioStream]]:
    """The stream's packets; a file that ends mid-packet (a copy cut short) ends there."""
    packets = container.demux(stream)
    read = 0
    while True:
        try:
            packet = next(packets)
        except StopIteration:
            return
        except av.InvalidDataError:
            if read == 0:
                raise
            log.warning("%s: ends mid-packet after %d packets (cut short?)", path, read)
            return
        read += 1
        yield packet


def _resample(samples: np.ndarray, rate: int, target: int) -> np.ndarray:
    if rate == target:
        return samples
    resampled: np.ndarray = soxr.resample(samples, rate, target, quality="HQ")
    return resampled.astype(np.float32, copy=False)
