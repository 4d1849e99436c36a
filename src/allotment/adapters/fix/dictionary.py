"""The FIX 4.4 data dictionary the acceptor validates with: the engine's own, plus Saxo's
custom tags where Saxo's FIX API uses them (CancellationIfReduction 12108 in NewOrderSingle,
CashAllocQty 12110 in its allocations), as listed in the package's `saxo_fields.xml`.

The engine checks every inbound message against its dictionary with user-defined fields
validated, so a tag it does not know is refused before allotment sees the message.
"""

from __future__ import annotations

import sysconfig
import xml.etree.ElementTree as ElementTree
from importlib.resources import files
from pathlib import Path

FILE_NAME = "FIX44-saxo.xml"


def engine_dictionary() -> Path:
    """FIX 4.4's data dictionary, as the engine's package installs it."""
    return Path(sysconfig.get_path("data")) / "share" / "quickfix" / "FIX44.xml"


def with_saxo_tags(directory: Path) -> Path:
    """The engine's dictionary with Saxo's tags added, written under `directory`."""
    source = engine_dictionary()
    if not source.is_file():
        raise ValueError(f"the FIX 4.4 data dictionary is not installed at {source}")
    tree = ElementTree.parse(source)
    additions = ElementTree.fromstring(
        files("allotment.adapters.fix").joinpath("saxo_fields.xml").read_text("utf-8")
    )
    _merge(tree.getroot(), additions)
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / FILE_NAME
    tree.write(target, encoding="utf-8", xml_declaration=True)
    return target


def _merge(root: ElementTree.Element, additions: ElementTree.Element) -> None:
    fields = _one(root, "fields")
    for field in additions.iterfind("fields/field"):
        fields.append(field)
    for message in additions.iterfind("message"):
        target = _one(root, f"messages/message[@name='{message.get('name')}']")
        target.extend(list(message))
    for group in additions.iterfind("group"):
        component = group.get("component")
        target = _one(root, f"components/component[@name='{component}']/group")
        if target.get("name") != group.get("name"):
            raise ValueError(f"the dictionary's {component} has no group {group.get('name')}")
        target.extend(list(group))


def _one(root: ElementTree.Element, path: str) -> ElementTree.Element:
    found = root.find(path)
    if found is None:
        raise ValueError(f"the FIX 4.4 data dictionary has no {path}")
    return found
