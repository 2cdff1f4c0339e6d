"""Who uses the review app and what they may see and do: roles (:mod:`qa.access.roles`), users
and logins (:mod:`qa.access.users`), the permission table (:mod:`qa.access.permissions`), the
audit log of changes (:mod:`qa.access.audit_log`) and masking of personal data
(:mod:`qa.access.masking`). Import from the modules; this package re-exports nothing."""
