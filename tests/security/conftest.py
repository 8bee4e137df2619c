"""Fixtures of the attack tests: the world every route can be asked about (see world.py).
A test changes the app's settings with `support.app.with_settings`.

Time is never waited for; limits are made small in the settings instead.
"""

from __future__ import annotations

import pytest
from flask import Flask
from support.team import Team

from .world import ROOMY_LIMITS, World, build_world


@pytest.fixture
def world(app: Flask, team: Team) -> World:
    """Nine people, and something of each kind for every route to be asked about."""
    app.config.update(ROOMY_LIMITS)
    return build_world(app, team)
