"""GET /health: the server runs and its database answers (no authentication)."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy.exc import SQLAlchemyError

from district.api.deps import DbDep
from district.api.errors import ApiError
from district.schemas import Health

router = APIRouter(tags=["health"])
VERSION = "1"


@router.get("/health", response_model=Health)
def health(db: DbDep) -> Health:
    try:
        db.ping()
    except SQLAlchemyError:
        raise ApiError(503, "database_unavailable", "区服务器的数据库暂时无法访问。") from None
    return Health(status="ok", database="ok", version=VERSION)
