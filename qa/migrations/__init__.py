"""The store's schema: named migrations, one module each, applied in the order of
:data:`MIGRATIONS` by :func:`qa.db.migrate`, which records each name in ``_migrations``.

Migrations are append-only: never edit one that has shipped (a store that applied it will not
apply it again); add a module ``mNNN_what.py`` with ``apply(db)`` and its line at the end of
:data:`MIGRATIONS`. The name recorded is the line's, so it never changes either. Each runs in
a transaction with its name recorded, so re-running is safe.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlite_utils

from qa.migrations import (
    m001_calls_and_results,
    m002_pipeline_runs,
    m003_users,
    m004_flag_kind,
    m005_ingest_ledger,
    m006_reviews,
    m007_complaint_cases,
    m008_run_reports,
    m009_sentence_vectors,
    m010_audio_checks_and_accounts,
    m012_agents_and_appeals,
    m013_search,
    m014_alert_deliveries,
    m015_calibration_and_coaching,
    m016_call_sentiment,
    m017_flag_decisions,
    m020_case_ownership,
    m021_normalized_texts,
)

Migration = Callable[[sqlite_utils.Database], None]

#: (name recorded in ``_migrations``, what it does), in the order they apply
MIGRATIONS: tuple[tuple[str, Migration], ...] = (
    ("001_calls_and_results", m001_calls_and_results.apply),
    ("002_pipeline_runs", m002_pipeline_runs.apply),
    ("003_users", m003_users.apply),
    ("004_flag_kind", m004_flag_kind.apply),
    ("005_ingest_ledger", m005_ingest_ledger.apply),
    ("006_reviews", m006_reviews.apply),
    ("007_complaint_cases", m007_complaint_cases.apply),
    ("008_run_reports", m008_run_reports.apply),
    ("009_sentence_vectors", m009_sentence_vectors.apply),
    ("010_audio_checks_and_accounts", m010_audio_checks_and_accounts.apply),
    ("012_agents_and_appeals", m012_agents_and_appeals.apply),
    ("013_search", m013_search.apply),
    ("014_alert_deliveries", m014_alert_deliveries.apply),
    ("015_calibration_and_coaching", m015_calibration_and_coaching.apply),
    ("016_call_sentiment", m016_call_sentiment.apply),
    ("017_flag_decisions", m017_flag_decisions.apply),
    ("020_case_ownership", m020_case_ownership.apply),
    ("021_normalized_texts", m021_normalized_texts.apply),
)
