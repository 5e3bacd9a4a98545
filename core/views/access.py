"""Who may launch, cancel, resume and delete runs: a shared password, or Streamlit's own login.

The password comes from the environment (``$RLAIF_AUDIT_PASSWORD``), is read when a check is
made (never at import), is compared in constant time, and is never stored: the dashboard keeps
only whether this browser session gave it. With neither a password nor a login configured,
the dashboard is open, as on a laptop.
"""
from __future__ import annotations

import hmac
import os
from collections.abc import Mapping

PASSWORD_ENV = "RLAIF_AUDIT_PASSWORD"


def password_configured(environ: Mapping[str, str] | None = None) -> bool:
    return bool(_expected(environ))


def password_matches(given: str, environ: Mapping[str, str] | None = None) -> bool:
    """True when a password is configured and ``given`` is it (constant-time comparison)."""
    expected = _expected(environ)
    return bool(expected) and hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def may_act(*, password_ok: bool, login_configured: bool, logged_in: bool,
            environ: Mapping[str, str] | None = None) -> bool:
    """Whether a session may launch, cancel, resume or delete: always when nothing is configured,
    else with the right password or a login through Streamlit's configured identity provider."""
    if not password_configured(environ) and not login_configured:
        return True
    return password_ok or (login_configured and logged_in)


def _expected(environ: Mapping[str, str] | None) -> str:
    return (os.environ if environ is None else environ).get(PASSWORD_ENV, "")
