"""Machine results: saving and reading calls, transcripts and scorecards
(:mod:`qa.results.store`) and re-scoring stored transcripts with new rubric versions
(:mod:`qa.results.rescore`). Import from the modules; this package re-exports nothing."""
