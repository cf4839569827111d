"""The district server: the API counters sync with, its database, and the seeded demo district.

It imports the pure packages `desktop.policy` and `desktop.domain` and the wire schemas
`desktop.wire` only (ARCHITECTURE.md).
"""
