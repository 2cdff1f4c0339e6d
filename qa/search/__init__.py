"""Transcript search: an FTS5 index of every stored turn, kept with the results, queried with
the call filters the review app and ``qa search`` share, and searches saved per user."""
