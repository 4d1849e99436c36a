"""Native API routes: bookbuilding (being built)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
