"""`serve`: migrate, bring the parameter versions in step, then run uvicorn."""

from __future__ import annotations

import logging

import uvicorn
from sqlalchemy import select

from district import models
from district.app import create_app
from district.changelog import record_changes
from district.config import Settings
from district.db import Database
from district.services.parameters import sync_parameter_versions

log = logging.getLogger("district")


def prepare(db: Database) -> None:
    db.migrate()
    with db.write() as session:
        # the change counter's row lock (the one record_changes takes): two processes starting
        # at once add the policy's parameter versions one after the other, the second finding
        # them there
        session.execute(select(models.ChangeCounter.id)
                        .where(models.ChangeCounter.id == 1).with_for_update())
        changes = sync_parameter_versions(session)
        record_changes(session, changes)
    if changes:
        log.info("policy parameter versions updated", extra={"changed": len(changes)})


def serve(settings: Settings, db: Database) -> int:
    log.info("starting", extra={"database": db.display_url, "host": settings.host,
                                "port": settings.port})
    if settings.host not in ("127.0.0.1", "localhost", "::1"):
        log.warning("serving plain HTTP beyond this machine: put a TLS-terminating proxy in "
                    "front of it, or counters will send their tokens in clear",
                    extra={"host": settings.host})
    prepare(db)
    app = create_app(settings, db)
    uvicorn.run(app, host=settings.host, port=settings.port, log_config=None,
                access_log=False, server_header=False)
    return 0
