"""Use cases the UI calls: one transaction each, with its audit event and outbox item."""
