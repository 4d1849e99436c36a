"""What `allotment serve` refuses to start, and how several worker processes share their
metrics (decision 0030)."""

from __future__ import annotations

import os
import shutil

from sqlalchemy.engine import make_url

from allotment.adapters.metrics import MULTIPROCESS_DIR
from allotment.settings import Settings

ONE_WRITER = (
    "error: --workers {workers} on SQLite: SQLite has one writer, so more processes only wait "
    "for its lock; serve one worker, or use PostgreSQL (ALLOTMENT_DATABASE_URL) for several"
)
SHARED_SECRET = (
    "error: on PostgreSQL set ALLOTMENT_SECRET_KEY (the same on every host): a secret generated "
    "per host makes a token issued by one host refused by the next"
)


def refusal(settings: Settings, workers: int) -> str | None:
    """One line saying why this deployment must not start, or None (checked before anything is
    built, so that a refused start leaves nothing behind, not even a generated secret)."""
    backend = make_url(settings.resolved_database_url()).get_backend_name()
    if workers < 1:
        return "error: --workers must be at least 1"
    if backend == "sqlite" and workers > 1:
        return ONE_WRITER.format(workers=workers)
    if backend == "postgresql" and settings.secret_key is None:
        return SHARED_SECRET
    return None


def share_metrics(settings: Settings, workers: int) -> None:
    """Several workers write their metrics to files one scrape adds up: PROMETHEUS_MULTIPROC_DIR,
    set here (an empty directory under var_dir) unless the operator set one. It must be set
    before the workers start, which read it when they import the metrics."""
    if workers < 2 or os.environ.get(MULTIPROCESS_DIR):
        return
    directory = (settings.var_dir / "metrics").resolve()
    shutil.rmtree(directory, ignore_errors=True)  # a previous run's values are not this one's
    directory.mkdir(parents=True)
    os.environ[MULTIPROCESS_DIR] = str(directory)
