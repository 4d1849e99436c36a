"""RFC 6902 JSON Patch on a CAS Allocation document, with every refusal named by the operation
and member at fault (`[1].path: /allocationValue/data/amount/x does not name a location in the
allocation`), never in the patch library's or Python's own words."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import jsonpatch
import jsonpointer

from allotment.domain.errors import InvalidInstruction

OPERATIONS = ("add", "remove", "replace", "move", "copy", "test")
MEMBERS = frozenset({"op", "path", "value", "from"})
_ABSENT = object()


def apply_patch(document: dict[str, Any], operations: Any) -> Any:
    """The document after the operations, applied in order (RFC 6902 §3); the document passed
    in is left as it was. Raises InvalidInstruction naming the operation and its member."""
    if not isinstance(operations, list) or not all(isinstance(op, Mapping) for op in operations):
        raise InvalidInstruction(
            "body: a JSON Patch is an array of operations", errors={"body": ["must be an array"]}
        )
    for index, operation in enumerate(operations):
        _check(operation, f"[{index}]")
    patched: Any = copy.deepcopy(document)
    for index, operation in enumerate(operations):
        patched = _apply(patched, operation, f"[{index}]")
    return patched


def _bad(field: str, message: str) -> InvalidInstruction:
    return InvalidInstruction(f"{field}: {message}", field=field)


def _check(operation: Mapping[str, Any], where: str) -> None:
    """The operation's shape (RFC 6902 §4): a known op, JSON Pointers, a value where needed."""
    unknown = sorted(set(operation) - MEMBERS)
    if unknown:
        raise _bad(f"{where}.{unknown[0]}", "is not a JSON Patch member")
    op = operation.get("op")
    if op not in OPERATIONS:
        raise _bad(f"{where}.op", f"must be one of {', '.join(OPERATIONS)}")
    pointers = ("path", "from") if op in ("move", "copy") else ("path",)
    for member in pointers:
        pointer = operation.get(member)
        if not isinstance(pointer, str) or (pointer and not pointer.startswith("/")):
            raise _bad(
                f"{where}.{member}", "must be a JSON Pointer such as /allocationValue/data/amount"
            )
    if op in ("add", "replace", "test") and "value" not in operation:
        raise _bad(f"{where}.value", f"is required by {op}")


def _apply(document: Any, operation: Mapping[str, Any], where: str) -> Any:
    op, path = operation["op"], operation["path"]
    if op in ("move", "copy") and _resolve(document, operation["from"]) is _ABSENT:
        source = operation["from"]
        raise _bad(f"{where}.from", f"{source} does not name a location in the allocation")
    try:
        return jsonpatch.JsonPatch([dict(operation)]).apply(document)
    except jsonpatch.JsonPatchTestFailed:
        raise _bad(f"{where}.value", f"the value at {path} is not the tested value") from None
    except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException):
        raise _bad(f"{where}.path", f"{path} does not name a location in the allocation") from None
    except (TypeError, KeyError, IndexError, ValueError):
        raise _bad(f"{where}.path", f"{path} does not name a location in the allocation") from None


def _resolve(document: Any, pointer: str) -> Any:
    try:
        return jsonpointer.resolve_pointer(document, pointer, _ABSENT)
    except (jsonpointer.JsonPointerException, TypeError, KeyError, IndexError, ValueError):
        return _ABSENT
