"""cambook: what only the book needs, beside the library it teaches from (camlib).

* :mod:`cambook.exercises`  the checkers of the chapters' exercises (``check_cam``, ``check_box``, ...)
* :mod:`cambook.widgets`    interactive explorers of top-k CAMs, for the rendered page and for a kernel

Like fastbook beside fastai: camlib holds the method, cambook the teaching aids. Both ship in
one distribution, so the Colab set-up cell installs both.
"""
