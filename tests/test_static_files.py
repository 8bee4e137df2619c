"""A static file is read and closed while its response is made, whatever happens next.

A browser that drops the connection (a phone going into a tunnel, a tab closed) or gets a
304 never makes the server read the body; a file still open then would be left to the garbage
collector. Each case below leaves the body unread and unclosed, as a dropped connection does.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from werkzeug.test import EnvironBuilder

STATIC_FILES = ["favicon.svg", "site.css", "exit.js", "listen.js"]


@pytest.fixture
def unraisable() -> Iterator[list[Any]]:
    """Everything reported while objects are collected (an unclosed file's ResourceWarning)."""
    seen: list[Any] = []
    before = sys.unraisablehook
    sys.unraisablehook = seen.append
    try:
        yield seen
    finally:
        gc.collect()
        sys.unraisablehook = before


def served_and_dropped(app: Flask, path: str, **headers: str) -> tuple[str, dict[str, str]]:
    """Call the app as a server would, then drop the body without reading or closing it."""
    started: dict[str, Any] = {}

    def start_response(status: str, response_headers: list[tuple[str, str]], *_: Any) -> None:
        started["status"] = status
        started["headers"] = dict(response_headers)

    environ = EnvironBuilder(path=path, headers=headers).get_environ()
    body = app(environ, start_response)
    del body
    gc.collect()
    return started["status"], started["headers"]


@pytest.mark.parametrize("name", STATIC_FILES)
def test_a_dropped_static_file_leaves_nothing_open(
    app: Flask, unraisable: list[Any], name: str
) -> None:
    status, headers = served_and_dropped(app, f"/static/{name}")
    assert status.startswith("200")

    again, _ = served_and_dropped(app, f"/static/{name}", **{"If-None-Match": headers["ETag"]})
    assert again.startswith("304"), "the browser's copy is still good"

    assert [str(report.exc_value) for report in unraisable] == []


def test_part_of_a_static_file_is_the_right_part(app: Flask) -> None:
    whole = app.test_client().get("/static/site.css")
    part = app.test_client().get("/static/site.css", headers={"Range": "bytes=10-29"})
    assert part.status_code == 206
    assert part.data == whole.data[10:30]
