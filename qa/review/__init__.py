"""Human review: review records and the rule that the human result counts
(:mod:`qa.review.state`), submitting a review (:mod:`qa.review.submit`), claiming and assigning
(:mod:`qa.review.assignment`), review queues (:mod:`qa.review.queues`) and the review app's read
model (:mod:`qa.review.call_view`). Import from the modules; this package re-exports nothing."""
