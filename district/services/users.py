"""Users and their roles, as the checks of pushed items need them."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from district import models

# The role a signature needs (GLOSSARY: 经办人 handler = role clerk).
ROLE_FOR_SIGNATURE = {"handler": "clerk", "reviewer": "reviewer", "approver": "approver"}


@dataclass(frozen=True)
class Staff:
    id: int
    username: str
    display_name: str
    street_code: str | None
    district: str
    active: bool
    roles: frozenset[str]

    def works_at(self, street_code: str) -> bool:
        return self.active and self.street_code == street_code


def find_staff(session: Session, username: str) -> Staff | None:
    """The user and their roles, read once per session: a push request checks the same few
    people for hundreds of items in one transaction, in which they do not change."""
    cache: dict[str, Staff | None] = session.info.setdefault("staff", {})
    if username in cache:
        return cache[username]
    user = session.scalars(select(models.User).where(models.User.username == username)).first()
    staff = None if user is None else staff_of(session, user)
    cache[username] = staff
    return staff


def staff_of(session: Session, user: models.User) -> Staff:
    """The user with their roles."""
    roles = session.scalars(select(models.UserRole.role)
                            .where(models.UserRole.user_id == user.id)).all()
    return Staff(user.id, user.username, user.display_name, user.street_code, user.district,
                 user.active, frozenset(roles))
