"""The WSGI entry point: `gunicorn wsgi:app`. Production settings come from the environment."""

import sys

from config import ConfigurationError
from intake import create_app

try:
    app = create_app()
except ConfigurationError as problem:
    # Said once, plainly, whatever runs this file (gunicorn does not always print SystemExit).
    print(problem.message, file=sys.stderr)
    raise SystemExit(2) from None
