"""The routers of the four vendor dialects and of the engine's native routes, in one list."""

from __future__ import annotations

from fastapi import APIRouter


def routers() -> list[APIRouter]:
    found: list[APIRouter] = []
    return found
