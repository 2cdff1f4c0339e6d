"""The nightly run: plan, dispatch and save (:mod:`qa.run.pipeline`), the one-call task that any
process runs (:mod:`qa.run.task`), local worker processes (:mod:`qa.run.local`) and Ray actors
(:mod:`qa.run.ray`), the CPU/GPU choice (:mod:`qa.run.devices`), the run lock
(:mod:`qa.run.lock`), the run's bookkeeping in the store (:mod:`qa.run.bookkeeping`) and its JSON
report (:mod:`qa.run.report`). Import from the modules; this package re-exports nothing."""
