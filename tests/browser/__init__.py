"""Groundwork in a real browser: Debian's Chromium driven by Playwright (see conftest.py).

A package, so that its conftest.py does not take the place of tests/conftest.py (both would
otherwise be imported as the module `conftest`).
"""
