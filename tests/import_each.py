"""Import each named module as if alone: before each, every ``course_lib`` module is forgotten.

Run by tests/test_course.py as ``python tests/import_each.py MODULE...``; prints one JSON object,
``{module: error}`` for the modules whose import failed. Third-party packages stay loaded between
imports (they cannot hide a missing import of the course's own), which makes one interpreter do
the work of one per module.
"""
from __future__ import annotations

import importlib
import json
import sys
import traceback


def main(modules: list[str]) -> dict[str, str]:
    failures = {}
    for module in modules:
        for name in [n for n in sys.modules if n == "course_lib" or n.startswith("course_lib.")]:
            del sys.modules[name]
        try:
            importlib.import_module(module)
        except BaseException:
            failures[module] = traceback.format_exc()[-1000:]
    return failures


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1:])))
