"""An application's data as a file, until the official forms print it (the forms issue).

Everything the printed form will carry: the person, the rows, the amounts per bucket, the
computation with its trace and parameter versions, the signatures. Written as UTF-8 JSON.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from desktop.domain.id_number import mask_id_number
from desktop.store import Store, append_audit
from desktop.store.models import ApplicationRecord, PersonRecord


class ExportFailed(ValueError):
    """The file could not be written; the message names it, in Chinese."""


def application_export(store: Store, application_id: uuid.UUID) -> dict[str, Any]:
    with store.read_session() as session:
        application = session.get(ApplicationRecord, application_id)
        if application is None:
            raise LookupError(f"没有这份申请：{application_id}")
        person = session.get(PersonRecord, application.person_id)
        return {
            "application_id": str(application.id),
            "program": application.program,
            "district": application.district,
            "status": application.status,
            "person": None if person is None else {
                "name": person.name, "id_number": mask_id_number(person.id_number),
                "street_code": person.street_code, "committee": person.committee},
            "proxy_name": application.proxy_name,
            "auto_enrolled": application.auto_enrolled,
            "bank_account": application.bank_account,
            "payable": f"{application.payable:.2f}",
            "buckets": application.buckets,
            "fee_rows": sorted(r.fee_row_id for r in application.rows),
            "signatures": [{"role": s.role, "username": s.username,
                            "signed_at": s.signed_at.isoformat()}
                           for s in application.signatures],
            "parameter_versions": application.parameter_versions,
            "case": application.case,
            "result": application.result,
            "created_at": application.created_at.isoformat(),
            "created_by": application.created_by,
        }


def export_application(store: Store, application_id: uuid.UUID, path: Path, *,
                       clerk: str) -> None:
    """Write the export and record who exported it (audited: the file leaves the system)."""
    data = application_export(store, application_id)
    try:
        path.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    except OSError as exc:
        raise ExportFailed(f"无法写入 {path}：{exc.strerror or exc}") from None
    with store.session() as session:
        append_audit(session, clerk, "application.exported", f"application:{application_id}",
                     {"file": path.name})
