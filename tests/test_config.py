"""The config file: typed, strict, relative paths from the file's folder, flags win."""

from __future__ import annotations

from pathlib import Path

import pytest

from calldata import Direction, Role
from qa.config import Config, ConfigError, default_rubrics_dir, load_config


def write(tmp_path: Path, text: str, name: str = "site.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_a_file():
    config = load_config(None)
    assert config.timezone == "UTC"
    assert config.languages == ("en", "zh")
    assert config.rubrics == default_rubrics_dir()
    assert config.channel_roles.for_direction(Direction.INBOUND) == (Role.CUSTOMER, Role.AGENT)
    assert config.channel_roles.for_direction(Direction.OUTBOUND) == (Role.AGENT, Role.CUSTOMER)


def test_full_file_loads_with_paths_relative_to_its_folder(tmp_path):
    folder = tmp_path / "etc"
    folder.mkdir()
    path = write(
        folder,
        """
store = "spool/monitor"
cdr_csv = "/var/log/asterisk/cdr-csv/Master.csv"
queue_log = "../logs/queue_log"
db = "qa.db"
timezone = "Asia/Shanghai"
languages = ["zh", "en"]
min_age_minutes = 0
device = "cuda"
compute_type = "float16"

[queue_languages]
"600" = "en"
"601" = "zh"

[channel_roles]
outbound = ["customer", "agent"]

[[agents]]
id = "1001"
name = "Alice Smith"
identities = ["1001", "PJSIP/1001", "Local/1001@from-queue/n", "Alice Smith"]
""",
    )
    config = load_config(path)
    assert config.store == folder / "spool" / "monitor"
    assert config.cdr_csv == Path("/var/log/asterisk/cdr-csv/Master.csv")
    assert config.queue_log == tmp_path / "logs" / "queue_log"
    assert config.db == folder / "qa.db"
    assert config.queue_languages == {"600": "en", "601": "zh"}
    assert config.zone.key == "Asia/Shanghai"
    assert config.channel_roles.outbound == (Role.CUSTOMER, Role.AGENT)
    assert config.channel_roles.inbound == (Role.CUSTOMER, Role.AGENT)  # default kept
    assert config.agents[0].identities[2] == "Local/1001@from-queue/n"
    assert config.min_age_minutes == 0


def test_flags_win_over_the_file_and_none_means_not_given(tmp_path):
    config = load_config(write(tmp_path, 'db = "a.db"\ndevice = "cuda"\n'))
    merged = config.with_overrides({"db": Path("/tmp/b.db"), "device": None})
    assert merged.db == Path("/tmp/b.db")
    assert merged.device == "cuda"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('stor = "x"\n', "stor: unknown key"),
        ('timezone = "Mars/Olympus"\n', "timezone: unknown time zone 'Mars/Olympus'"),
        ("min_age_minutes = -1\n", "min_age_minutes: Input should be greater than or equal to 0"),
        ('[queue_languages]\n"600" = "fr"\n', "queue '600' is set to 'fr'"),
        ('[channel_roles]\ninbound = ["agent", "agent"]\n', "channel_roles.inbound: give one"),
        ('[[agents]]\nid = "1"\nname = "A"\nidentitis = []\n', "agents[0].identitis: unknown key"),
        (
            '[[agents]]\nid = "1"\nname = "A"\nidentities = ["1001"]\n'
            '[[agents]]\nid = "2"\nname = "B"\nidentities = ["1001"]\n',
            "identity '1001' belongs to both agent '1' and agent '2'",
        ),
        ('[hotwords]\nfr = ["Acme"]\n', "hotwords: 'fr' is not in languages"),
        ("store = [\n", "not valid TOML"),
    ],
)
def test_errors_name_the_file_and_the_key(tmp_path, text, expected):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert str(path) in message
    assert expected in message


def test_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read the config file"):
        load_config(tmp_path / "nope.toml")


def test_require_says_which_flag_to_pass():
    with pytest.raises(ConfigError, match="pass --cdr-csv or set cdr_csv"):
        Config().require("cdr_csv")


def test_hotwords_per_language_and_all_for_an_unknown_language(tmp_path):
    config = load_config(write(tmp_path, '[hotwords]\nen = ["Acme Telecom"]\nzh = ["安科电信"]\n'))
    assert config.hotwords_for("en") == ("Acme Telecom",)
    assert config.hotwords_for("zh") == ("安科电信",)
    assert set(config.hotwords_for(None)) == {"Acme Telecom", "安科电信"}


def test_demo_config_loads(samples_dir):
    config = load_config(samples_dir / "demo.toml")
    assert config.store == samples_dir / "store" / "monitor"
    assert config.timezone == "America/New_York"
    assert config.queue_languages == {"600": "en", "601": "zh"}
    assert [agent.id for agent in config.agents] == ["1001", "1002", "1003"]
    assert "PJSIP/1003" in config.agents[2].identities
    assert config.hotwords_for("en") == ("Acme Telecom",)
