"""Benchmarks that report longtask's figures against the raw, in-process limit.

Run `python bench/run.py [--quick]`; everything it writes lands under bench/out/.
"""
