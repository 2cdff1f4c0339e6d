"""The toolkit's configuration: one typed object, loaded from a TOML file, overridden by flags.

Usage::

    config = load_config("samples/demo.toml")              # relative paths: from the file's folder
    config = config.with_overrides({"db": Path("var/qa.db"), "device": None})  # None: not given

Every ``qa run`` flag has a key of the same name (``--cdr-csv`` is ``cdr_csv``); a flag that is
given wins over the file. Unknown keys are errors that name the file and the key.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qs, unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from calldata import Direction, Role
from qa.alert_config import AlertSettings

__all__ = [
    "AgentEntry",
    "AgreementSettings",
    "AppealSettings",
    "CdrDatabaseUrl",
    "ChannelRoles",
    "Config",
    "ConfigError",
    "ReviewSettings",
    "SamplingPlan",
    "default_rubrics_dir",
    "load_config",
    "parse_cdr_url",
]

# Keys holding paths: a relative value in a file is relative to that file's folder.
PATH_KEYS = (
    "store",
    "cdr_csv",
    "queue_log",
    "db",
    "rubrics",
    "models_dir",
    "whisper_dir",
    "report_path",
)


#: Where the CDR database password is read when ``cdr_url`` leaves it out.
PASSWORD_VARIABLE = "CALLQA_CDR_PASSWORD"
_CDR_SCHEMES = ("mysql", "mariadb", "mysql+pymysql", "mariadb+pymysql")


class ConfigError(ValueError):
    """The configuration is unusable; the message names the file, the key and the fix."""


def default_rubrics_dir() -> Path:
    """The rubrics that ship with the toolkit (``rubrics/`` next to the packages)."""
    return Path(__file__).resolve().parent.parent / "rubrics"


@dataclass(frozen=True)
class CdrDatabaseUrl:
    """Where the CDR database is: ``mysql://user:password@host:port/database`` (or
    ``?socket=/path/mysqld.sock`` for a local socket)."""

    host: str
    port: int
    user: str
    password: str
    database: str
    socket: str | None = None

    def redacted(self) -> str:
        """The URL without the password, for messages and logs."""
        where = f"socket {self.socket}" if self.socket else f"{self.host}:{self.port}"
        return f"mysql://{self.user}@{where}/{self.database}"


def parse_cdr_url(url: str) -> CdrDatabaseUrl:
    """Parse a ``cdr_url`` (syntax only: nothing is connected). Raises ValueError saying what is
    wrong with it. It lives here, not in :mod:`qa.ingest.cdr_mysql`, so that loading a config checks
    the URL without importing ingest (which imports this module)."""
    parts = urlsplit(url)
    if parts.scheme not in _CDR_SCHEMES:
        raise ValueError(
            f"cdr_url must start with mysql:// (or mariadb://), e.g. "
            f"mysql://user:password@localhost:3306/asteriskcdrdb; got {parts.scheme or 'none'}://"
        )
    database = unquote(parts.path.lstrip("/"))
    if not database or "/" in database:
        raise ValueError("cdr_url names no database: end it with /asteriskcdrdb")
    query = parse_qs(parts.query)
    unknown = set(query) - {"socket"}
    if unknown:
        raise ValueError(f"cdr_url: unknown option(s) {sorted(unknown)}; only ?socket= is known")
    try:
        port = parts.port or 3306
    except ValueError:
        raise ValueError("cdr_url: the port is not a number") from None
    password = unquote(parts.password) if parts.password is not None else None
    return CdrDatabaseUrl(
        host=parts.hostname or "localhost",
        port=port,
        user=unquote(parts.username or "") or "asteriskuser",
        password=password if password is not None else os.environ.get(PASSWORD_VARIABLE, ""),
        database=database,
        socket=query["socket"][0] if "socket" in query else None,
    )


class AgentEntry(BaseModel):
    """One agent and every name the PBX may use for them.

    ``identities`` are matched case-insensitively: an extension (``1001``), a device
    (``PJSIP/1001``), a queue member interface (``Local/1001@from-queue/n``) or the queue member
    name that queue_log writes (``Alice Smith``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    identities: tuple[str, ...] = ()


def _two_roles(value: tuple[Role, Role]) -> tuple[Role, Role]:
    if set(value) != {Role.AGENT, Role.CUSTOMER}:
        raise ValueError('give one "agent" and one "customer", in channel order (ch0, ch1)')
    return value


class ChannelRoles(BaseModel):
    """Who is on which channel of two-channel audio (stereo or leg pairs), per call direction.

    With MixMonitor on the caller's channel, channel 0 (the receive leg) is the far end: the
    customer on inbound calls, the agent on outbound ones.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    inbound: tuple[Role, Role] = (Role.CUSTOMER, Role.AGENT)
    outbound: tuple[Role, Role] = (Role.AGENT, Role.CUSTOMER)

    _check_inbound = field_validator("inbound")(_two_roles)
    _check_outbound = field_validator("outbound")(_two_roles)

    def for_direction(self, direction: Direction) -> tuple[Role, Role]:
        """The (ch0, ch1) roles for a call; internal and unknown calls use the inbound mapping."""
        return self.outbound if direction == Direction.OUTBOUND else self.inbound


class ReviewSettings(BaseModel):
    """Which calls the review queues pick (``[review]`` in the config file)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    low_score: float = Field(
        default=0.7, ge=0, le=1, description="A scorecard under this share of its points is low."
    )
    low_confidence: float = Field(
        default=0.6, ge=0, le=1, description="A transcript under this mean word confidence."
    )
    low_role_confidence: float = Field(
        default=0.6, ge=0, le=1, description="Agent/customer assignment under this confidence."
    )
    sample_rate: float = Field(
        default=0.1, gt=0, le=1, description="Share of each agent's calls per day sampled."
    )
    sample_seed: int = Field(default=0, description="Seed of the daily random sample.")
    negative_shift: float | None = Field(
        default=None, ge=-2, le=2,
        description="A customer whose sentiment moves start→end by this or less (e.g. -0.5).",
    )  # fmt: skip
    negative_mean: float | None = Field(
        default=None, ge=-1, le=1,
        description="A customer whose average sentiment is this or less (e.g. -0.3).",
    )  # fmt: skip


class AppealSettings(BaseModel):
    """How agents appeal their evaluations (``[appeals]`` in the config file)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    window_days: float = Field(
        default=7, gt=0, description="Days after an evaluation (or a decision) to appeal it."
    )
    second_round: bool = Field(
        default=False, description="An upheld appeal may be appealed once more."
    )
    settled_by: tuple[str, ...] = Field(
        default=(), description="Usernames of the QA leads who settle appeals; none: any lead."
    )


class AgreementSettings(BaseModel):
    """When a rule's agreement with reviewers marks it (``[agreement]`` in the config file)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_decisions: int = Field(
        default=20, ge=1, description="Reviewer decisions on a rule before it is judged."
    )
    attention_floor: float = Field(
        default=0.8, ge=0, le=1, description="Fail precision under this marks the rule."
    )
    skip_review_precision: float | None = Field(
        default=None, ge=0, le=1, description="Fail precision at or above this: trusted."
    )


class SamplingPlan(BaseModel):
    """Which scored calls a site's QA plan draws for review (``[sampling]`` in the config file;
    qa.review.sampling). Shares are of each agent's scored calls per local day (or ISO week)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    daily_share: float = Field(default=0.1, ge=0, le=1, description="Per agent and day.")
    min_per_agent_day: int = Field(
        default=0, ge=0, description="At least this many per agent and day (when they exist)."
    )
    weekly_share: float = Field(
        default=0.0, ge=0, le=1, description="A second tier per agent and ISO week, of the rest."
    )
    extra_after_fail: int = Field(
        default=0, ge=0, description="Extra calls a day for an agent after a failed check."
    )
    extra_days: int = Field(default=7, ge=0, description="For how many days after the failure.")
    reviewer_quotas: dict[str, int] = Field(
        default_factory=dict, description="Calls per day each reviewer takes from the draw."
    )
    seed: int = Field(default=0, description="Seed of the draw: the same seed draws the same.")


class Config(BaseModel):
    """Everything ``qa run`` needs. Paths are absolute once loaded from a file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    store: Path | None = Field(default=None, description="The MixMonitor spool (monitor dir).")
    cdr_csv: Path | None = Field(default=None, description="cdr_csv Master.csv.")
    queue_log: Path | None = Field(default=None, description="queue_log (rotated files follow).")
    db: Path | None = Field(default=None, description="The SQLite results store.")
    rubrics: Path = Field(default_factory=default_rubrics_dir)
    models_dir: Path | None = Field(default=None, description="Default: the user cache dir.")
    whisper_dir: Path | None = Field(
        default=None, description="A faster-whisper model dir to use instead of the bundled one."
    )
    timezone: str = Field(default="UTC", description="The PBX's local time zone.")
    languages: tuple[str, ...] = ("en", "zh")
    queue_languages: dict[str, str] = Field(default_factory=dict)
    channel_roles: ChannelRoles = Field(default_factory=ChannelRoles)
    device: Literal["auto", "cpu", "cuda"] = Field(
        default="auto", description="auto: cuda when CTranslate2 sees a GPU, else cpu."
    )
    compute_type: str = Field(
        default="auto", description="auto: int8 on cpu, float16 (or int8_float16) on cuda."
    )
    cpu_threads: int = Field(default=0, ge=0, description="0: let the engine decide.")
    # Batch runs (qa.run.pipeline, qa.run.local, qa.run.ray, qa.run.lock, qa.run.report).
    workers: int | Literal["auto"] = Field(
        default=1,
        description="Worker processes (each loads the models once); auto: from cores and memory.",
    )
    worker_memory_mb: int = Field(
        default=0, ge=0, description="Peak memory of one worker, for workers = auto; 0: measured."
    )
    max_in_flight: int = Field(
        default=0, ge=0, description="Calls handed out but not yet saved; 0: two per worker."
    )
    gpu_batch_size: int = Field(
        default=8, ge=0, description="Whisper chunks decoded at once on cuda; 0: sequential."
    )
    diarization_step: float = Field(
        default=0.5,
        gt=0,
        le=1,
        description="Mono calls: the diarizer's window step as a share of its 10 s window.",
    )
    ray_address: str | None = Field(
        default=None, description="A Ray cluster (host:port, or auto) to spread the calls over."
    )
    ray_ship_audio: bool = Field(
        default=False, description="Send recordings to Ray workers as bytes, not shared paths."
    )
    report_path: Path | None = Field(
        default=None, description="Where each run writes its JSON report ({run_id} expands)."
    )
    trusted_proxies: tuple[str, ...] = Field(
        default=(),
        description="Reverse proxies whose X-Forwarded-For names the review app's client.",
    )
    allowed_link_roots: tuple[Path, ...] = Field(
        default=(),
        description="Folders outside the store that recordings may be symlinked from.",
    )
    allowed_origins: tuple[str, ...] = Field(
        default=(),
        description="Origins besides the app's own that may call the review app's API.",
    )
    lock_timeout_minutes: float = Field(
        default=10.0,
        gt=0,
        description="A lock from another host without heartbeat this long is stale.",
    )
    hotwords: dict[str, tuple[str, ...]] = Field(
        default_factory=dict,
        description="Per language: company and product names that bias the recogniser's "
        "spelling (a call of unknown language gets all of them).",
    )
    min_age_minutes: float = Field(
        default=2.0, ge=0, description="Leave files modified more recently for the next run."
    )
    # Ingest from the PBX (qa.ingest). cdr_url is a secret: runs record it as "**********".
    cdr_url: SecretStr | None = Field(
        default=None,
        description="FreePBX's CDR database: mysql://user:password@host:3306/asteriskcdrdb.",
    )
    cdr_utc: bool = Field(
        default=False, description="CDR times are UTC (usegmtime / CDRUSEGMT), not PBX local."
    )
    cel: bool = Field(
        default=False, description="With cdr_url: take a call only once CEL has LINKEDID_END."
    )
    cdr_wait_minutes: float = Field(
        default=60.0,
        ge=0,
        description="A recording with no CDR row waits this long, then is taken as an orphan.",
    )
    rescan_days: int = Field(
        default=2, ge=0, description="Day folders this recent are walked again on every run."
    )
    agents: tuple[AgentEntry, ...] = ()
    review: ReviewSettings = Field(
        default_factory=ReviewSettings, description="Review queue thresholds and sampling."
    )
    alerts: AlertSettings = Field(
        default_factory=AlertSettings, description="Alert rules, channels and digests."
    )
    appeals: AppealSettings = Field(
        default_factory=AppealSettings, description="The appeal window and who settles appeals."
    )
    agreement: AgreementSettings = Field(
        default_factory=AgreementSettings, description="When a rule is trusted or needs work."
    )
    sampling: SamplingPlan = Field(
        default_factory=SamplingPlan, description="The site's sampling plan (qa sampling report)."
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r}: use an IANA name like 'America/New_York'"
            ) from None
        return value

    @field_validator("languages")
    @classmethod
    def _some_language(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("list at least one language, e.g. ['en', 'zh']")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Config:
        if self.cdr_url is not None:
            parse_cdr_url(self.cdr_url.get_secret_value())
            if self.cdr_csv is not None:
                raise ValueError("cdr_csv and cdr_url are both set: give one CDR source")
        elif self.cel:
            raise ValueError("cel = true reads CEL from the CDR database: set cdr_url too")
        for queue, language in self.queue_languages.items():
            if language not in self.languages:
                raise ValueError(
                    f"queue_languages: queue {queue!r} is set to {language!r}, which is not in "
                    f"languages {list(self.languages)}"
                )
        for language in self.hotwords:
            if language not in self.languages:
                raise ValueError(
                    f"hotwords: {language!r} is not in languages {list(self.languages)}"
                )
        seen: dict[str, str] = {}
        ids: set[str] = set()
        for agent in self.agents:
            if agent.id in ids:
                raise ValueError(f"agents: agent id {agent.id!r} is listed twice")
            ids.add(agent.id)
            for identity in (*agent.identities, agent.id):
                key = identity.strip().casefold()
                if seen.get(key, agent.id) != agent.id:
                    raise ValueError(
                        f"agents: identity {identity!r} belongs to both agent {seen[key]!r} "
                        f"and agent {agent.id!r}"
                    )
                seen[key] = agent.id
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def hotwords_for(self, language: str | None) -> tuple[str, ...]:
        """The hotwords for a call in ``language``; all of them when it is not known."""
        if language is not None:
            return self.hotwords.get(language, ())
        return tuple(word for words in self.hotwords.values() for word in words)

    def with_overrides(self, overrides: Mapping[str, Any], source: str = "flags") -> Config:
        """A copy with the non-None values of ``overrides`` replacing this config's."""
        given = {key: value for key, value in overrides.items() if value is not None}
        if not given:
            return self
        return _validate({**self.model_dump(), **given}, source)

    def require(self, key: str) -> Any:
        """The value of ``key``, or a ConfigError saying how to set it."""
        value = getattr(self, key)
        if value is None:
            flag = "--" + key.replace("_", "-")
            raise ConfigError(f"{key} is not set: pass {flag} or set {key} = ... in the config")
        return value


def _location(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def _validate(data: Mapping[str, Any], source: str) -> Config:
    try:
        return Config.model_validate(dict(data))
    except ValidationError as error:
        problems = []
        for detail in error.errors():
            key = _location(detail["loc"])
            message = detail["msg"].removeprefix("Value error, ")
            if detail["type"] == "extra_forbidden":
                message = "unknown key (check its spelling; see docs for the keys)"
            problems.append(f"{source}: {key}: {message}")
        raise ConfigError("\n".join(problems)) from None


def _resolve_paths(data: dict[str, Any], base: Path) -> dict[str, Any]:
    resolved = dict(data)
    for key in PATH_KEYS:
        value = resolved.get(key)
        if isinstance(value, str):
            path = Path(value).expanduser()
            resolved[key] = path if path.is_absolute() else (base / path).resolve()
    roots = resolved.get("allowed_link_roots")
    if isinstance(roots, list):  # a list of folders, each relative to the file's folder
        resolved["allowed_link_roots"] = [
            (base / Path(root).expanduser()).resolve() if isinstance(root, str) else root
            for root in roots
        ]
    return resolved


def load_config(path: str | Path | None = None) -> Config:
    """Load a TOML config file; with no path, the defaults.

    Raises :class:`ConfigError` naming the file (and line, or key) when it is unreadable, not
    TOML, or has an unknown or invalid key.
    """
    if path is None:
        return Config()
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the config file ({error.strerror})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None
    return _validate(_resolve_paths(data, path.resolve().parent), str(path))
