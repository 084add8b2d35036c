"""Continuous monitoring: events, baselines, detectors, risk, response, incidents."""
