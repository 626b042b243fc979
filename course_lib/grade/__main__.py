"""``python -m course_lib.grade``: see :mod:`course_lib.grade`."""
import sys

from course_lib.grade.cli import main

if __name__ == "__main__":
    sys.exit(main())
