"""A small HTTP browser (standard library only) and the client journey it walks.

`Browser` keeps one keep-alive connection and one cookie jar, reads each page's CSRF token
the way a browser without JavaScript would post it back, and times every request. The
journey is the one a person takes: start → welcome → agree → return code → 14 pages →
check → send. Used by tests/test_faults.py, tools/load.py and tools/bench.py.
"""

from __future__ import annotations

import http.client
import re
import ssl
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

from intake.questionnaire import DEFAULT_FORM, Kind, Section

PAGES = len(DEFAULT_FORM.sections)
_CSRF = (
    re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"'),
    re.compile(r'name="csrf_token" value="([^"]+)"'),
)
# The code as the page shows it: four groups, each in its own <span>, inside one <bdi>.
_CODE = re.compile(r"<bdi>((?:<span>[0-9]{4}</span> ?){4})</bdi>")

Fields = dict[str, str | list[str]]


class RequestFailed(Exception):
    """No response came back (the connection broke, or the worker died mid-request)."""


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: str
    seconds: float

    @property
    def location(self) -> str:
        """The path a redirect points to (without scheme and host)."""
        value = self.headers.get("location", "")
        parts = urlsplit(value)
        return parts.path + (f"?{parts.query}" if parts.query else "")


@dataclass
class Browser:
    host: str
    port: int
    timeout: float = 120.0
    on_response: Callable[[str, str, Response | None, float], None] | None = None
    cookies: dict[str, str] = field(default_factory=dict)
    token: str | None = None
    tls: ssl.SSLContext | None = None  # https, trusting what this context trusts
    _connection: http.client.HTTPConnection | None = None

    @classmethod
    def at(cls, url: str, **kwargs: object) -> Browser:
        parts = urlsplit(url)
        default_port = 443 if parts.scheme == "https" else 80
        return cls(parts.hostname or "127.0.0.1", parts.port or default_port, **kwargs)  # type: ignore[arg-type]

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def get(self, path: str) -> Response:
        return self.request("GET", path)

    def post(self, path: str, fields: Fields, *, token: bool = True) -> Response:
        data = dict(fields)
        if token:
            assert self.token is not None, f"no form read before posting to {path}"
            data["csrf_token"] = self.token
        return self.request("POST", path, urlencode(data, doseq=True).encode())

    def request(self, method: str, path: str, body: bytes | None = None) -> Response:
        headers = {"Host": f"{self.host}:{self.port}"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        started = time.perf_counter()
        try:
            response = self._send(method, path, body, headers)
        except RequestFailed:
            if self.on_response:
                self.on_response(method, path, None, time.perf_counter() - started)
            raise
        response.seconds = time.perf_counter() - started
        self._keep(response)
        if self.on_response:
            self.on_response(method, path, response, response.seconds)
        return response

    def _send(
        self, method: str, path: str, body: bytes | None, headers: dict[str, str]
    ) -> Response:
        # A kept-alive connection the server has closed fails at once: a GET is tried once
        # more on a new connection. A POST never is: whether it was saved is for the caller
        # to find out (a worker killed mid-request looks just the same).
        for attempt in (1, 2):
            reused = self._connection is not None
            if self._connection is None:
                self._connection = (
                    http.client.HTTPSConnection(
                        self.host, self.port, timeout=self.timeout, context=self.tls
                    )
                    if self.tls is not None
                    else http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
                )
            try:
                self._connection.request(method, path, body=body, headers=headers)
                raw = self._connection.getresponse()
                data = raw.read()
            except (OSError, http.client.HTTPException) as problem:
                self.close()
                if method == "GET" and reused and attempt == 1 and _closed_while_idle(problem):
                    continue
                raise RequestFailed(f"{method} {path}: {type(problem).__name__}") from None
            response = Response(
                raw.status,
                {k.lower(): v for k, v in raw.getheaders()},
                data.decode("utf-8", "replace"),
                0.0,
            )
            if raw.will_close:
                self.close()
            return response
        raise AssertionError("unreachable")

    def _keep(self, response: Response) -> None:
        for name, value in _set_cookies(response):
            if value is None:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        if "text/html" in response.headers.get("content-type", ""):
            for pattern in _CSRF:
                match = pattern.search(response.body)
                if match:
                    self.token = match.group(1)
                    break


def _closed_while_idle(problem: BaseException) -> bool:
    return isinstance(
        problem,
        http.client.RemoteDisconnected | ConnectionResetError | BrokenPipeError,
    )


def _set_cookies(response: Response) -> list[tuple[str, str | None]]:
    """(name, value) for each Set-Cookie; value None when the cookie is deleted.

    http.client joins repeated headers with ", "; Groundwork sets one cookie per response."""
    raw = response.headers.get("set-cookie")
    if not raw:
        return []
    first, *attributes = [part.strip() for part in raw.split(";")]
    name, _, value = first.partition("=")
    lowered = [a.lower() for a in attributes]
    deleted = any(a in ("max-age=0", "max-age=-1") for a in lowered) or any(
        a.startswith("expires=") and "1970" in a for a in lowered
    )
    return [(name, None if deleted or not value else value)]


# --- the client journey -------------------------------------------------------------------


def marker() -> str:
    return uuid.uuid4().hex


def answers_for(section: Section) -> Fields:
    """A fresh marker in every text box and a real choice in every choice question; this is
    exactly what the app stores for the page (text is stored trimmed; markers have no spaces)."""
    answers: Fields = {}
    for question in section.questions:
        keys = [key for key, _label in question.choices if key != "rather_not_say"]
        if question.kind in (Kind.SHORT_TEXT, Kind.LONG_TEXT):
            answers[question.key] = marker()
        elif question.kind == Kind.ONE_CHOICE:
            answers[question.key] = keys[len(section.key) % len(keys)]
        else:
            answers[question.key] = keys[:2]
    return answers


def next_after(number: int) -> str:
    """Where a save of page `number` sends the person (the app's `_next_after`)."""
    if number >= PAGES:
        return "/check"
    if number == DEFAULT_FORM.note_after_page:
        return "/before-the-agreement"
    return f"/page/{number + 1}"


class JourneyBroken(Exception):
    """A page did not answer as the journey expects (not a failed connection)."""


def expect(response: Response, status: int, location: str | None = None) -> Response:
    if response.status != status or (location is not None and response.location != location):
        raise JourneyBroken(
            f"expected {status} {location or ''}, got {response.status} {response.location}"
        )
    return response


def start(browser: Browser) -> str:
    """Start → welcome → agree (keep answers, share with a coach) → the return code, written
    down → page 1.

    Returns the return code (16 digits, no spaces)."""
    expect(browser.get("/"), 200)
    expect(browser.get("/welcome"), 200)
    expect(browser.get("/agree"), 200)
    expect(
        browser.post("/agree", {"store_answers": "yes", "share_with_coach": "yes"}),
        302,
        "/your-code",
    )
    page = expect(browser.get("/your-code"), 200)
    shown = _CODE.findall(page.body)
    if len(shown) != 1:
        raise JourneyBroken("no return code on /your-code")
    expect(browser.post("/your-code", {"saved": "y"}), 302, "/page/1")
    return re.sub(r"\D", "", shown[0])


def save_page(browser: Browser, number: int, answers: Fields) -> bool:
    """Open page N and save it. True when the save was acknowledged (302 onwards)."""
    expect(browser.get(f"/page/{number}"), 200)
    response = browser.post(f"/page/{number}", {**answers, "action": "continue"})
    return response.status == 302 and response.location == next_after(number)


def send(browser: Browser) -> bool:
    """Check → send. True when the send was acknowledged (302 to /sent)."""
    expect(browser.get("/check"), 200)
    response = browser.post("/send", {})
    return response.status == 302 and response.location == "/sent"


@dataclass
class Journey:
    """One person's whole journey, as sent: what each page held when its save came back."""

    code: str = ""
    saved: dict[int, Fields] = field(default_factory=dict)
    sent: bool = False


def whole_journey(browser: Browser) -> Journey:
    """Start → code → agree → every page → check → send → sent. Raises RequestFailed or
    JourneyBroken when a step does not come back as it should."""
    journey = Journey(code=start(browser))
    for number, section in enumerate(DEFAULT_FORM.sections, start=1):
        answers = answers_for(section)
        if not save_page(browser, number, answers):
            raise JourneyBroken(f"page {number} was not saved")
        journey.saved[number] = answers
    journey.sent = send(browser)
    if not journey.sent:
        raise JourneyBroken("the send was not acknowledged")
    expect(browser.get("/sent"), 200)
    return journey


def sign_in_staff(browser: Browser, username: str, password: str, totp_secret: str) -> None:
    """The two sign-in pages, with the current 6-digit code; ends on the workspace."""
    import pyotp

    expect(browser.get("/staff/sign-in"), 200)
    expect(browser.post("/staff/sign-in", {"username": username, "password": password}), 302)
    expect(browser.get("/staff/two-factor"), 200)
    code = pyotp.TOTP(totp_secret).now()
    response = browser.post("/staff/two-factor", {"code": code})
    if response.status != 302:
        raise JourneyBroken(f"two-factor step answered {response.status}")
    expect(browser.get("/workspace"), 200)
