"""``qa run``: the batch over a recording store (see :mod:`qa.run.pipeline`)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from asr.models import ModelError
from qa import runtime
from qa.alerts.checks import alert_after_run, alert_not_started
from qa.config import PATH_KEYS, ConfigError, load_config
from qa.ingest import CdrReadError, QueueLogReadError, SpoolError
from qa.progress import TerminalProgress, no_progress
from qa.run.local import WorkerStartError
from qa.run.lock import RunLockedError
from qa.run.pipeline import RunSummary, run_pipeline
from qa.run.report import EXIT_LOCKED
from scoring import RubricError
from sentences import EncoderError

_FILE = click.Path(dir_okay=False, path_type=Path)
_DIR = click.Path(file_okay=False, path_type=Path)


def _absolute(path: Path | None) -> Path | None:
    return None if path is None else path.expanduser().resolve()


class _Workers(click.ParamType):
    """A positive number of workers, or ``auto``."""

    name = "N|auto"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, int) or value == "auto":
            return value
        try:
            number = int(value)
        except ValueError:
            number = 0
        if number < 1:
            self.fail(f"{value!r} is not a positive number or 'auto'", param, ctx)
        return number


def format_summary(summary: RunSummary) -> str:
    """The human-readable end-of-run report."""
    lines = [
        f"run {summary.run_id}: {summary.found} calls found; {summary.done} done now, "
        f"{summary.already_done} already done"
        + (f" ({summary.rescored} re-scored with new rubric versions)" if summary.rescored else "")
    ]
    if summary.skipped:
        lines.append(f"set aside {len(summary.skipped)}:")
        lines += [f"  {item.status:<8} {item.path}: {item.reason}" for item in summary.skipped]
    if summary.failed:
        lines.append(f"FAILED {len(summary.failed)}:")
        lines += [
            f"  {item.call_id} ({item.path}) at {item.stage}: {item.reason}"
            for item in summary.failed
        ]
    if summary.not_retried:
        lines.append(
            f"{summary.not_retried} call(s) failed in an earlier run and were left alone: "
            "fix the cause, then run again with --retry-failed"
        )
    audio = (
        f"{summary.audio_seconds / 60:.1f} min of audio" if summary.audio_seconds else "no audio"
    )
    rtf = summary.real_time_factor
    lines.append(
        f"{audio} in {summary.wall_seconds:.1f} s"
        + (f" (real-time factor {rtf:.3f})" if rtf is not None else "")
    )
    if summary.executor:
        executor, device = summary.executor, summary.device
        lines.append(
            f"{executor.get('workers', 1)} worker(s) ({executor.get('kind')}), "
            f"{device.get('device')} {device.get('compute_type')}"
            + (f"; {summary.retried} call(s) retried" if summary.retried else "")
        )
    return "\n".join(lines)


@click.command()
@click.option("--config", "config_file", type=_FILE, help="TOML config; flags win over it.")
@click.option("--store", type=_DIR, help="The recording store (MixMonitor monitor dir).")
@click.option("--cdr-csv", type=_FILE, help="cdr_csv Master.csv (optional).")
@click.option("--queue-log", type=_FILE, help="Asterisk queue_log; rotated copies are read too.")
@click.option("--db", type=_FILE, help="The SQLite results store (created if missing).")
@click.option("--rubrics", type=_DIR, help="Rubric folder (default: the bundled rubrics).")
@click.option("--models-dir", type=_DIR, help="Speech models folder (default: user cache).")
@click.option("--whisper-dir", type=_DIR, help="Any faster-whisper model folder to use instead.")
@click.option("--timezone", help="The PBX's time zone, e.g. America/New_York (default UTC).")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), help="Default: auto.")
@click.option("--compute-type", help="CTranslate2 compute type: auto, int8, float16, ...")
@click.option("--cpu-threads", type=click.IntRange(min=0), help="Threads per worker (0: split).")
@click.option("--workers", type=_Workers(), help="Processes (--ray: actors), or auto.")
@click.option("--max-in-flight", type=click.IntRange(min=0), help="Calls handed out at once.")
@click.option("--ray", "ray_address", help="Run on a Ray cluster: HOST:PORT of its head, or auto.")
@click.option(
    "--ray-ship-audio/--ray-shared-store",
    default=None,
    help="With --ray: send recordings as bytes / read them at the same path on every node.",
)
@click.option("--report", "report_path", type=_FILE, help="Also write the JSON run report here.")
@click.option("--min-age-minutes", type=float, help="Leave files modified more recently.")
@click.option("--retry-failed", is_flag=True, help="Retry calls that failed in earlier runs.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
def run(config_file: Path | None, retry_failed: bool, as_json: bool, **flags: Any) -> None:
    """Transcribe and score every new call in a recording store.

    Calls already done are not redone; a call that fails is recorded with its reason and the
    run goes on. A killed run is resumed by the next one. Exit status: 0 all well; 1 a call
    failed or the run could not start (a person should look); 75 another run holds the
    database (nothing to do). See docs/operations.md.

    Example: qa run --store /var/spool/asterisk/monitor --queue-log
    /var/log/asterisk/queue_log --db /var/lib/callqa/qa.db

    Example: qa run --config samples/demo.toml --db var/demo.db

    Example: qa run --config site.toml --workers auto --report /var/log/callqa/run-{run_id}.json
    """
    for key in PATH_KEYS:
        if key in flags:
            flags[key] = _absolute(flags[key])
    show_progress = sys.stderr.isatty()
    config = None
    try:
        config = load_config(config_file).with_overrides(flags)
        if show_progress:
            with TerminalProgress() as hook:
                summary = run_pipeline(config, hook=hook, retry_failed=retry_failed)
        else:
            summary = run_pipeline(config, hook=no_progress, retry_failed=retry_failed)
    except RunLockedError as error:
        click.echo(f"Not started: {error}", err=True)
        raise click.exceptions.Exit(EXIT_LOCKED) from None
    except (
        ConfigError,
        RubricError,
        ModelError,
        EncoderError,
        SpoolError,
        CdrReadError,
        QueueLogReadError,
        WorkerStartError,
    ) as e:
        if config is not None:
            alert_not_started(config, str(e))
        raise click.ClickException(str(e)) from None
    except Exception:
        if config is not None:
            alert_after_run(config, None)  # the run recorded itself as crashed
        raise
    runtime.checkpoint("alerts")
    alert_after_run(config, summary.run_id)
    if as_json:
        click.echo(json.dumps(summary.to_json(), ensure_ascii=False))
    else:
        click.echo(format_summary(summary))
    if summary.needs_attention:
        raise click.exceptions.Exit(1)
