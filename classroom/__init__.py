"""classroom: hand the book's code exercises out as assignments, and grade them safely.

* :mod:`classroom.edition`  the exercises found in the chapters; the student edition (solutions removed)
* :mod:`classroom.grading`  grade a folder of notebooks, ``--jobs`` at a time: a CSV and a summary
* :mod:`classroom.matching` which chapter a submission is, and every exercise it must answer
* :mod:`classroom.points`   points per exercise (points.csv), partial credit by cases passed
* :mod:`classroom.naming`   the student id, from the folder or the file name
* :mod:`classroom.results`  per-student table, LMS export, a feedback file per student
* :mod:`classroom.think`    answer cells under the Think questions, read back for marking
* :mod:`classroom.answerkey` the teacher's answer-key.md and points.csv, next to the student edition
* :mod:`classroom.safe`     one-line fields and formula-free CSV cells for everything written
* :mod:`classroom.sandbox`  one bubblewrap sandbox per notebook, with limits
* :mod:`classroom.cgroups`  one control group per notebook (memory and processes, all of them)
* :mod:`classroom.kernel`   a Jupyter kernel in that sandbox, cells with time limits
* :mod:`classroom.harness`  what runs in the student's kernel: call a function, send back data
* :mod:`classroom.wire`     plain data across the sandbox's wall (no pickle)
* :mod:`classroom.static`   advisory notes from reading a submission's source
* :mod:`classroom.notes`    hints, times and mistakes per checker; :mod:`classroom.guide` the guide's table

The checkers themselves live in :mod:`cambook.exercises`, which the chapters import; the grader
uses the same checkers, in its own process. Run ``python -m classroom --help``.
"""
