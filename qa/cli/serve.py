"""``qa serve``: the review UI over a results store, behind a login."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from qa.access.users import ensure_admin
from qa.config import ConfigError, load_config
from qa.db import open_db

logger = logging.getLogger(__name__)

_DB = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.command()
@click.option("--db", type=_DB, required=True, help="The results store (from qa run).")
@click.option(
    "--config",
    "config_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The site's TOML config: review queue settings ([review]), time zone, rubrics.",
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on; keep 127.0.0.1 unless a TLS reverse proxy is in front.",
)
@click.option(
    "--port",
    default=7860,
    show_default=True,
    type=click.IntRange(1, 65535),
    help="Port to listen on.",
)
def serve(db: Path, config_file: Path | None, host: str, port: int) -> None:
    """Serve the review UI: calls, audio, transcripts with roles, scorecards with evidence.

    Everyone logs in (users: qa users). A store with no users yet gets an `admin` user with a
    random password, printed once.

    Example: qa serve --config samples/demo.toml --db var/demo.db --port 7860
    """
    try:
        config = load_config(config_file)
    except ConfigError as error:
        raise click.ClickException(str(error)) from None
    store = open_db(db)
    try:
        password = ensure_admin(store)
    finally:
        store.close()
    if password is not None:
        click.echo(
            f"No users yet: created admin with password {password}; "
            "change it with qa users passwd admin"
        )
    if host not in ("127.0.0.1", "localhost", "::1"):
        click.echo(
            f"warning: listening on {host}: the login travels unencrypted unless a TLS "
            "reverse proxy is in front",
            err=True,
        )
    # Imported here: gradio takes seconds to import, and the CLI sits above the UI package.
    from ui.app import serve as serve_app

    click.echo(f"Review UI: http://{host}:{port}  (Ctrl+C to stop)")
    serve_app(db, host=host, port=port, config=config)
