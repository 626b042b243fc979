"""Grade handed-in exercise notebooks by running them again.

::

    python -m course_lib.grade SUBMISSION.ipynb... [--out gradebook.csv]
    python -m course_lib.grade submissions/          # every .ipynb in a folder
    python -m course_lib.grade submissions/ --recursive --jobs 4 --feedback feedback/

For each submission (``--jobs`` of them at once) the grader

1. copies it into a fresh temporary folder and executes it top to bottom in a fresh kernel
   (nbclient) inside a bubblewrap sandbox under resource limits (:mod:`.sandbox`), in fast
   mode, with its own private progress file, a time limit per cell and one
   per notebook; a cell that raises does not stop the run, a cell that runs too long is
   interrupted;
2. then, in the same kernel, throws away every loaded ``course_lib`` module, imports the checks
   afresh and runs the official check of every exercise of the lesson on the learner's function
   (each with its own time limit), and reads the learner's quiz answers from the
   ``quiz.answer("<id>", <answer>)`` lines of the notebook (clicks in a quiz form are not saved
   in a notebook, so a hand-in answers in those lines);
3. compares the modules the notebook ran with fresh copies, scans its code and compares what
   its progress file claims with the official results, to flag tampering.

Scores never come from outputs stored in the file, nor from the progress file the notebook
wrote; the result comes back as an output of the grading step over the kernel's messages.
The gradebook (CSV) has one row per submission: ``file``, ``lesson``, ``status``
(``ok``, ``errors``, ``tampering``, ``not graded``), one column per check and per quiz question
(1 passed, 0 not), ``checks``, ``quiz``, ``score`` (percent of all items), ``notes`` (why a
submission is not ``ok``), ``isolation`` (``sandbox`` or ``rlimits only``) and ``sha256`` (a
rerun skips a file graded with the same content; ``--regrade`` forces). Rows go to a journal as
they are graded; the CSV is replaced in one step at the end. A file that cannot be read,
loops forever or kills its kernel gets its row and a reason; the other submissions are graded as usual.

The grader trusts the kernel only as far as Python allows: a learner who sets out to fool it
from inside the notebook can, so read the notebooks flagged ``tampering``.
"""
# The modules, one concern each: ``spec`` (what a lesson grades), ``source`` (reading a
# notebook's code), ``tamper`` (signs of tampering found outside the kernel), ``submission``
# (running a submission in a kernel), ``inkernel`` (the grader's code inside that kernel),
# ``grader`` (one submission to one row), ``gradebook`` (rows, journal, CSV, summary), ``sandbox``
# (the kernel's command line: bubblewrap and limits), ``launch`` (the limits, run by path),
# ``feedback`` (the learners' reports) and ``cli``.
from course_lib.grade.cli import main
from course_lib.grade.gradebook import Row, summary_table, write_gradebook
from course_lib.grade.grader import (DEFAULT_CELL_TIMEOUT, DEFAULT_CHECK_TIMEOUT, DEFAULT_TIMEOUT,
                                     grade_notebook)
from course_lib.grade.source import quiz_answers
from course_lib.grade.spec import (LIBRARY_DIR, LessonSpec, NotGraded, course_root, detect_lesson,
                                   find_reference, lesson_spec)
from course_lib.grade.submission import this_python_kernel
from course_lib.grade.tamper import PROTECTED_ROOTS, static_tampering

__all__ = [
    "DEFAULT_CELL_TIMEOUT", "DEFAULT_CHECK_TIMEOUT", "DEFAULT_TIMEOUT", "LIBRARY_DIR", "LessonSpec",
    "NotGraded", "PROTECTED_ROOTS", "Row", "course_root", "detect_lesson", "find_reference",
    "grade_notebook", "lesson_spec", "main", "quiz_answers", "static_tampering", "summary_table",
    "this_python_kernel", "write_gradebook",
]
