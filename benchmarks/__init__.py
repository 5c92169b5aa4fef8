"""Benchmarks of camlib and the book (not part of camlib, not run by the test suite).

* ``benchmarks/run.py``          the benchmark the README documents: speed, memory and agreement of
                                 camlib.CAM, torchcam and pytorch-grad-cam; localization; the book's run time
* ``benchmarks/train_gapnet.py`` GAPNet training time, accuracy and reproducibility
* ``benchmarks/results/latest.json`` the saved results of the last run, rendered by ``book/benchmarks.md``
"""
