"""Who may open a staff page, decided in one place.

`only(rule)` makes a view decorator: someone not signed in is sent to sign in; someone signed
in whose account the rule refuses is told the page does not exist (404, never a hint that it
does). The three rules in use are below; a blueprint takes the one it needs.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import abort
from flask_login import current_user

from intake.extensions import login_manager
from intake.models import Role, StaffUser

View = Callable[..., Any]


def signed_in_staff() -> StaffUser:
    """The staff member of this request (only inside a view guarded by `only`)."""
    return current_user._get_current_object()  # type: ignore[no-any-return]


def signed_in_partner_org_id() -> int:
    """The partner organisation of this request's staff member (only inside `partner_only`)."""
    org_id = signed_in_staff().partner_org_id
    if org_id is None:  # partner_only lets nobody without one in
        abort(404)
    return org_id


def only(rule: Callable[[StaffUser], bool]) -> Callable[[View], View]:
    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not rule(signed_in_staff()):
                abort(404)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def _reads_answers(member: StaffUser) -> bool:
    return member.reads_answers


def _is_admin(member: StaffUser) -> bool:
    return member.is_admin


def _is_partner(member: StaffUser) -> bool:
    return member.role == Role.PARTNER and member.partner_org_id is not None


staff_only = only(_reads_answers)
"""Coaches and admins: the people who may read answers."""

admin_only = only(_is_admin)
"""Admins only."""

partner_only = only(_is_partner)
"""Staff of a partner organisation, who refer people and read no answers."""
