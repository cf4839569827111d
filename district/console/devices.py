"""Console pages: devices (issue 14) — being built."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
