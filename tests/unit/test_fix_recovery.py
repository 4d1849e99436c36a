"""Which instructions the engine's log shows taken (answered Received) and never answered
finally: those are handed over again after a restart."""

from __future__ import annotations

from pathlib import Path

import quickfix as fix

from allotment.adapters.fix.engine import dictionary_path
from allotment.adapters.fix.recovery import log_path, recover, unanswered

THEIRS, OURS = "OMS", "US"
SOH = "\x01"


def _line(sender: str, kind: str, alloc_id: str, *fields: str) -> str:
    target = OURS if sender == THEIRS else THEIRS
    body = [f"35={kind}", f"49={sender}", f"56={target}", "34=7", *fields, f"70={alloc_id}"]
    return "20261207-18:43:06.051118000 : " + SOH.join(["8=FIX.4.4", "9=99", *body, "10=000"]) + SOH


def _j(alloc_id: str, trans_type: str = "0") -> str:
    return _line(THEIRS, "J", alloc_id, f"71={trans_type}")


def _p(alloc_id: str, status: str, *fields: str) -> str:
    return _line(OURS, "P", alloc_id, f"87={status}", *fields)


def _ids(lines: list[str]) -> list[str]:
    return [raw.split("70=")[1].split(SOH)[0] for raw in unanswered(lines, THEIRS)]


def test_an_instruction_answered_finally_is_not_handed_over_again() -> None:
    for final in ("0", "1", "2"):
        assert _ids([_j("A-1"), _p("A-1", "3"), _p("A-1", final)]) == []


def test_an_instruction_answered_only_received_is_handed_over_again() -> None:
    lines = [_j("A-1"), _p("A-1", "3"), _j("A-2"), _p("A-2", "3"), _p("A-1", "0")]
    assert _ids(lines) == ["A-2"]
    assert unanswered(lines, THEIRS) == [lines[2].split(" : ", 1)[1]]


def test_an_instruction_never_taken_by_the_application_is_left_to_the_engine() -> None:
    # refused by the engine (no Received): the engine did not count it, or rejected it
    assert _ids([_j("A-1"), _line(OURS, "3", "A-1")]) == []


def test_replace_and_cancel_are_answered_in_order() -> None:
    lines = [
        _j("A-1"),
        _p("A-1", "3"),
        _p("A-1", "0"),
        _j("A-2", "1"),
        _p("A-2", "3"),
        _p("A-2", "0"),
        _j("A-3", "2"),
        _p("A-3", "3"),
        _j("A-4", "1"),
        _p("A-4", "3"),
    ]
    assert _ids(lines) == ["A-3", "A-4"]


def test_a_repeated_alloc_id_is_closed_once_per_final_answer() -> None:
    lines = [_j("A-1"), _p("A-1", "3"), _j("A-1"), _p("A-1", "3"), _p("A-1", "0")]
    assert _ids(lines) == ["A-1"]
    assert _ids([*lines, _p("A-1", "0")]) == []


def test_answers_resent_on_request_and_other_sessions_count_for_nothing() -> None:
    lines = [
        _j("A-1"),
        _p("A-1", "3"),
        _p("A-1", "0", "43=Y"),  # a copy: the final answer was never sent first
        _line("ELSE", "J", "B-1"),
        _p("B-1", "3"),
        "a line of the engine that is no message",
    ]
    assert _ids(lines) == ["A-1"]


def test_a_replayed_instruction_answered_after_the_restart_is_closed() -> None:
    # after the restart the instruction is not logged again; its answers are
    lines = [_j("A-1"), _p("A-1", "3"), _p("A-1", "3"), _p("A-1", "0"), _p("A-1", "0", "43=Y")]
    assert _ids(lines) == []


def test_the_session_log_is_read_back_as_messages_a_damaged_one_left_out(tmp_path: Path) -> None:
    session_id = fix.SessionID("FIX.4.4", OURS, THEIRS)
    damaged = _j("A-1").replace(f"{SOH}71=0", f"{SOH}71")
    lines = [damaged, _p("A-1", "3"), _j("A-2"), _p("A-2", "3")]
    assert _ids(lines) == ["A-1", "A-2"]  # the scan finds both; A-1 cannot be read
    log_path(tmp_path, session_id).write_text("\n".join(lines) + "\n", encoding="utf-8")
    messages = recover(tmp_path, session_id, fix.DataDictionary(str(dictionary_path())))
    assert [str(m.getField(70)) for m in messages] == ["A-2"]
    assert recover(tmp_path / "none", session_id, None) == []
