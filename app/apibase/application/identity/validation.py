"""Input checks of the identity use cases, reported all at once as one 422 with an error per field."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import timedelta

from apibase.core.errors import FieldError, ValidationFailed
from apibase.core.result import Err
from apibase.domain.identity.api_key import MAX_API_KEY_NAME_LENGTH
from apibase.domain.identity.roles import RolePolicy
from apibase.domain.identity.user import check_tenant, normalise_email, password_problem

__all__ = ["FieldChecks"]


class FieldChecks:
    """Collects field errors; each check returns the cleaned value (or None after recording an error)."""

    def __init__(self) -> None:
        self._errors: list[FieldError] = []

    def _run[T](self, name: str, check: Callable[[], T]) -> T | None:
        try:
            return check()
        except ValueError as exc:
            self._errors.append(FieldError(loc=(name,), message=str(exc), type="value_error"))
            return None

    def email(self, email: str) -> str | None:
        return self._run("email", lambda: normalise_email(email))

    def tenant(self, tenant: str) -> str | None:
        return self._run("tenant", lambda: check_tenant(tenant))

    def roles(self, roles: Iterable[str], policy: RolePolicy) -> tuple[str, ...] | None:
        """Only roles the policy lets a user hold."""
        return self._run("roles", lambda: policy.assignable(roles))

    def password(self, password: str) -> str | None:
        problem = password_problem(password)
        if problem is not None:
            self._errors.append(FieldError(loc=("password",), message=problem, type="password_policy"))
            return None
        return password

    def api_key_name(self, name: str) -> str | None:
        cleaned = name.strip()
        if not 1 <= len(cleaned) <= MAX_API_KEY_NAME_LENGTH:
            message = f"a key name has 1 to {MAX_API_KEY_NAME_LENGTH} characters"
            self._errors.append(FieldError(loc=("name",), message=message, type="value_error"))
            return None
        return cleaned

    def lifetime(self, expires_in: timedelta | None) -> bool:
        if expires_in is not None and expires_in <= timedelta(0):
            self._errors.append(FieldError(loc=("expires_in",), message="must be positive", type="value_error"))
            return False
        return True

    def failure(self) -> Err[ValidationFailed]:
        """Every recorded field error; call it only after a check returned None or False."""
        if not self._errors:
            raise RuntimeError("no field failed its check")
        return Err(ValidationFailed.from_field_errors(self._errors))
