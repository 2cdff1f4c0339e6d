"""What supervisors and auditors read: agent records (:mod:`qa.records.agents`), the
identity-before-transaction audit (:mod:`qa.records.identity_audit`), exports
(:mod:`qa.records.export`), the do-not-disturb list (:mod:`qa.records.do_not_disturb`) and
complaint cases (:mod:`qa.records.complaints`). Import from the modules; this package re-exports
nothing (``qa.records.complaints`` has its own public surface)."""
