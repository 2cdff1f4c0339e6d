#!/usr/bin/env bash
# Create .venv and install the project with its speech stack, CPU only.
#
# Two traps on these machines (see docs/models.md):
#  * torch: only `torch==2.13.0` resolves to the local CPU build; anything else pulls GBs of CUDA
#    packages. It is installed first so that the project's `torch>=2.8,<3` is already satisfied.
#  * torchaudio: PyPI has only CUDA-linked builds, and its newest (2.11.0) pins torch==2.11.0.
#    pyannote.audio needs only torchaudio's pure-Python parts (kaldi fbank, resample), so we install
#    it without dependencies and delete its compiled extensions: torchaudio then reports the
#    extension as unavailable instead of failing to load libc10_cuda.so.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3

[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
PIP="$VENV/bin/pip"
"$PIP" install --quiet --upgrade pip 2>&1 | grep -v "is ignored" || true
"$PIP" install --quiet "torch==2.13.0" 2>&1 | grep -v "is ignored" || true
"$PIP" install --quiet --no-deps "torchaudio==2.11.0" 2>&1 | grep -v "is ignored" || true
site=$("$VENV/bin/python" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
rm -f "$site"/torchaudio/lib/*.so
"$PIP" install --quiet -e ".[dev,ray]" 2>&1 | grep -v "is ignored" || true
"$VENV/bin/python" - <<'PY'
import torch, torchaudio, faster_whisper, pyannote.audio, gradio  # noqa: F401
print(f"python stack ready: torch {torch.__version__}, torchaudio {torchaudio.__version__} "
      f"(pure Python), gradio {gradio.__version__}")
PY
