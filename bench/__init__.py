"""Benchmarks that report longtask's figures against the raw, in-process limit.

Run `python bench/run.py [--quick]`; everything it writes lands under bench/out/.
`python bench/chaos.py --minutes N --pages P --seed S` is the long chaos run of issue 8
(routine faults every few seconds against a clean run). What the benchmarks share with
the tests (homes, processes, fake embedders, PDFs, the chaos machinery) is the
harness's (`harness/`); bench/ never imports tests/.
"""
