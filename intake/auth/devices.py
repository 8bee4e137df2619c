"""Devices a staff member has signed in on before: a signed, long-lived cookie naming them.

Someone guessing at a staff account from elsewhere pauses it; a device its owner has signed in
on before keeps a budget of its own and is not paused, so the owner can sign in from their own
computer while someone else is guessing (docs/decisions.md, "A device its owner has used").
The cookie holds the staff id and a random name for the device, signed with SECRET_KEY: it
opens nothing on its own (the password and a 6-digit code are still needed) and survives
signing out (`Clear-Site-Data` leaves cookies alone for staff).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from flask import Flask, Request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.wrappers import Response as WerkzeugResponse

SALT = "groundwork-known-device"


@dataclass(frozen=True)
class Device:
    staff_id: int
    name: str  # random: tells this device's budget apart from every other


def cookie_name(app: Flask) -> str:
    return "__Host-device" if app.config["SECURE_COOKIES"] else "device"


def _serializer(app: Flask) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(str(app.secret_key), salt=SALT)


def known_device(app: Flask, request: Request) -> Device | None:
    """The device this request comes from, if its owner signed in on it within DEVICE_DAYS."""
    raw = request.cookies.get(cookie_name(app))
    if not raw:
        return None
    try:
        found = _serializer(app).loads(raw, max_age=int(app.config["DEVICE_DAYS"]) * 86400)
    except BadSignature:
        return None
    if not isinstance(found, dict):
        return None
    staff_id, name = found.get("s"), found.get("d")
    if not isinstance(staff_id, int) or not isinstance(name, str):
        return None
    return Device(staff_id, name)


def remember(app: Flask, response: WerkzeugResponse, staff_id: int, device: Device | None) -> None:
    """After a complete sign-in: this device is known for this person (for DEVICE_DAYS more)."""
    name = device.name if device is not None and device.staff_id == staff_id else None
    value = _serializer(app).dumps({"s": staff_id, "d": name or secrets.token_urlsafe(16)})
    response.set_cookie(
        cookie_name(app),
        value,
        max_age=int(app.config["DEVICE_DAYS"]) * 86400,
        httponly=True,
        secure=app.config["SECURE_COOKIES"],
        samesite="Lax",
        path="/",
    )
