"""Services: every change to users, projects and the audit trail, and the token operations.
They write through the database session, enforce the rules themselves, raise typed errors, and
leave the commit to their caller (a view or a command). They know nothing of requests."""
