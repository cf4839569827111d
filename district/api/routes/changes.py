"""GET /changes: the device's street's changes (and everyone's) after a cursor, in pages."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from desktop import wire
from district.api.deps import DbDep, SessionDep, require_session
from district.services.changes import MAX_PAGE, MAX_SEQ, changes_page_text

router = APIRouter(tags=["sync"], dependencies=[Depends(require_session)])


@router.get("/changes", response_model=wire.ChangesPage)
def changes(
    request: Request,
    identity: SessionDep,
    db: DbDep,
    cursor: Annotated[int, Query(ge=0, le=MAX_SEQ,
                                 description="the last seq already applied")] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 500,
    count: Annotated[bool, Query(description="also count every change after the cursor "
                                             "(total); costs a scan, ask once per pull")] = False,
) -> Response:
    with db.read() as session:
        page = changes_page_text(session, identity.device.street_code, cursor, limit,
                                 count=count, protocol=request.state.protocol)
    # Serialised once, there: returned as a model, FastAPI would validate the page again
    # against response_model (which stays, for the OpenAPI document) before serialising it.
    # The next cursor is in the headers too: a counter asks for the next page while it still
    # reads this one's body (desktop.sync.pull), so the server and the counter work at once.
    return Response(page.text, media_type="application/json", headers={
        wire.NEXT_CURSOR_HEADER: str(page.next_cursor),
        wire.MORE_HEADER: "1" if page.more else "0"})
