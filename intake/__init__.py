"""The app factory: `create_app()` builds a Groundwork app in a short list of named steps."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from flask import Flask, Request, Response, request
from werkzeug.formparser import FormDataParser
from werkzeug.middleware.proxy_fix import ProxyFix

import config as settings
from intake import context, db, errors, form_definition, i18n, security, templating
from intake.extensions import babel, compress, csrf, limiter, login_manager
from intake.sessions import SplitKeySessionInterface

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class ReadableFormParser(FormDataParser):
    """URL-encoded forms whose bytes are not UTF-8 keep every field, with U+FFFD for the
    broken letters, so the forms' `readable` check can ask the person to type them again.

    Werkzeug otherwise drops the whole form when the body is not UTF-8 (a page would then save
    nothing, or save an empty page) and keeps percent escapes such as "%FF" as typed text.

    No field of any form keeps a NUL character: nobody types one, and PostgreSQL refuses one in
    text (a NUL in a username would otherwise end as "service not available").
    """

    def parse(
        self,
        stream: Any,
        mimetype: str,
        content_length: int | None,
        options: dict[str, str] | None = None,
    ) -> Any:
        stream, form, files = super().parse(stream, mimetype, content_length, options)
        fields = [(k.replace("\x00", ""), v.replace("\x00", "")) for k, v in form.items(multi=True)]
        return stream, self.cls(fields), files

    def _parse_urlencoded(
        self, stream: Any, mimetype: str, content_length: int | None, options: dict[str, str]
    ) -> Any:
        text = stream.read().decode("utf-8", "replace")
        items = parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="replace")
        return stream, self.cls(items), self.cls()


class GroundworkRequest(Request):
    form_data_parser_class = ReadableFormParser


class GroundworkFlask(Flask):
    """Flask, except that an unhandled exception is logged by its class only.

    Exception messages can carry what a person typed (a database error quotes its statement),
    so the log gets the exception's class and the endpoint, never its contents.
    """

    request_class = GroundworkRequest

    def log_exception(self, exc_info: Any) -> None:
        from flask import request

        exc_type = exc_info[0] if exc_info and exc_info[0] else None
        self.logger.error(
            "unhandled %s at endpoint %s",
            exc_type.__name__ if exc_type else "error",
            request.endpoint,
        )


def create_app(config: Mapping[str, Any] | None = None, instance_path: str | None = None) -> Flask:
    app = GroundworkFlask(
        __name__,
        instance_path=instance_path
        or os.environ.get("GROUNDWORK_INSTANCE_PATH")
        or str(PROJECT_ROOT / "instance"),
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    configure_app(app, config)
    configure_extensions(app)
    configure_blueprints(app)
    errors.init_app(app)
    templating.init_app(app)
    return app


def configure_app(app: Flask, overrides: Mapping[str, Any] | None) -> None:
    settings.load(app.config, app.instance_path, overrides)
    app.session_interface = SplitKeySessionInterface()
    if app.config["TRUSTED_PROXIES"]:
        hops = int(app.config["TRUSTED_PROXIES"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    logging.getLogger("intake").setLevel(logging.INFO)
    if app.config["ENV"] == "production" and settings.runs_on_sqlite(app.config):
        app.logger.info(
            "Groundwork runs on one host (HOSTS = 1), with its data in a SQLite file. "
            "For more than one host, use PostgreSQL and Redis (docs/deployment.md)."
        )


def configure_extensions(app: Flask) -> None:
    context.init_app(app)
    db.init_app(app)
    security.init_app(app)
    csrf.init_app(app)
    babel.init_app(
        app,
        default_locale=app.config["DEFAULT_LOCALE"],
        default_translation_directories=str(PROJECT_ROOT / "translations"),
        locale_selector=i18n.select_locale,
    )
    form_definition.read_in(i18n.reading_locale)  # a form's words follow the reader's language
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", False)
    limiter.init_app(app)
    login_manager.init_app(app)
    compress.init_app(app)  # gzip (or better) for pages, CSS and script: DESIGN.md §9
    app.after_request(_whole_static_file)  # registered after, so it runs before compressing


def _whole_static_file(response: Response) -> Response:
    """Read a static file (a few KB) into its response and close it at once, so Flask-Compress
    compresses it whole with gzip, and no file is left open when the browser drops the
    connection or is told its copy is still good (304) and the body is never read."""
    if request.endpoint != "static" or response.is_sequence:
        return response
    source = response.response
    response.direct_passthrough = False
    unchanged = response.status_code == 304
    body = b"" if unchanged else b"".join(response.iter_encoded())  # a 206 reads its range
    close = getattr(source, "close", None)
    if close is not None:
        close()
    if unchanged:
        response.response = []
    else:
        response.set_data(body)
    return response


def configure_blueprints(app: Flask) -> None:
    from intake.api import bp as api
    from intake.auth import bp as auth
    from intake.cli import register
    from intake.client import bp as client
    from intake.coach import bp as coach
    from intake.partner import bp as partner

    app.register_blueprint(client)
    app.register_blueprint(auth)
    app.register_blueprint(coach)
    app.register_blueprint(partner)
    app.register_blueprint(api)
    register(app)
