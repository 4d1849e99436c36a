"""The ASGI application for servers (`uvicorn allotment.entrypoints.http.asgi:app`)."""

from allotment.entrypoints.http.app import create_app

app = create_app()
