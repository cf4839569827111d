"""Sync with the district server: pull changes by cursor, push the outbox, keep the token safe.

No Qt here: progress is reported through callbacks that the UI turns into signals.
"""
