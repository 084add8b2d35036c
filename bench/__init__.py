"""Benchmarks run by ``make bench``: every figure beside a baseline measured in the same run.

``python -m bench.gateway`` measures the gateway's full request path against nginx proxying
the same upstream (see docs/benchmarks.md).
"""
