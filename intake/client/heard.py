"""The recordings a form's questions name, heard on the page (docs/forms.md, "Recordings").

Each is served by the hash of its content, with the cache rules of a static file: nothing in it
is personal, and it never changes at that address. The player asks for it only when tapped.
"""

from __future__ import annotations

import io
import re

from flask import Response, abort, current_app, send_file

from intake import recordings
from intake.client import bp
from intake.db import db_session

_ADDRESS = re.compile(r"^(?P<sha256>[0-9a-f]{64})\.(?P<ending>[a-z0-9]{2,5})$")


@bp.route("/recordings/<address>")
def recording(address: str) -> Response:
    found = _ADDRESS.match(address)
    stored = recordings.find(db_session(), found["sha256"]) if found else None
    if stored is None or recordings.address(stored.sha256, stored.name) != address:
        abort(404)
    return send_file(
        io.BytesIO(stored.content),
        mimetype=stored.media_type,
        etag=stored.sha256,
        conditional=True,  # a player asks for parts of it (Range)
        max_age=current_app.config["SEND_FILE_MAX_AGE_DEFAULT"],
    )
