"""Large ETNA batches pause the cycle collector; it resumes when the last of them ends."""

from __future__ import annotations

import gc

from allotment.entrypoints.http.etna import PAUSE_FROM_BYTES, collector_paused


def test_the_collector_resumes_only_after_the_last_overlapping_large_batch() -> None:
    assert gc.isenabled()
    with collector_paused(PAUSE_FROM_BYTES):
        assert not gc.isenabled()
        with collector_paused(PAUSE_FROM_BYTES * 10):
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_small_bodies_leave_the_collector_alone_and_errors_resume_it() -> None:
    with collector_paused(PAUSE_FROM_BYTES - 1):
        assert gc.isenabled()
    try:
        with collector_paused(PAUSE_FROM_BYTES):
            raise RuntimeError("a failing batch")
    except RuntimeError:
        pass
    assert gc.isenabled()
