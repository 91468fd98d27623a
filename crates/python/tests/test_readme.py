"""The README's "From Python" section runs as written: its python blocks in order, in one
namespace, then every test function they define."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[3] / "README.md"
SECTION = "## From Python"


def blocks() -> list[str]:
    text = README.read_text()
    assert SECTION + "\n" in text, f"README.md has no {SECTION!r} section"
    section = text.split(SECTION + "\n", 1)[1].split("\n## ", 1)[0]
    found = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert len(found) >= 2, "the section shows the API and a test with a fake provider"
    return found


def test_the_from_python_section_runs_as_written():
    namespace: dict = {"__name__": "readme"}
    for block in blocks():
        exec(compile(block, f"{README}:{SECTION}", "exec"), namespace)
    tests = [f for name, f in namespace.items() if name.startswith("test_") and callable(f)]
    assert tests, "the section defines a test"
    for test in tests:
        test()
