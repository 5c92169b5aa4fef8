"""Benchmarks of camlib and the book (not part of camlib, not run by the test suite).

* ``benchmarks/run.py``          the benchmark the README documents: speed, memory and agreement of
                                 camlib.CAM, torchcam and pytorch-grad-cam; localization; the book's run time
* ``benchmarks/retrain.py``     retrain the shipped networks here: time, accuracy against the shipped
                                 ones, reproducibility
* ``benchmarks/machine.py``     what machine a measurement ran on (also used by tools/train_book_models.py)
* ``benchmarks/results/latest.json`` the saved results of the last run, rendered by ``book/benchmarks.md``
"""
