"""Attacks, tried the way an attacker would (OWASP ASVS 5.0 level 2; DESIGN.md §5, §6, §10).

A package, so that its conftest.py does not take the place of tests/conftest.py (both would
otherwise be imported as the module `conftest`), and so that its test modules never collide
with a top-level test module of the same name under pytest's "prepend" import mode.
"""
