"""The toolkit's spine: configuration, the store, ingest from Asterisk, the pipeline, the CLI."""
