"""Who is using the app: the sign-in gate every run passes before a page is drawn.

The mode is decided in one place, ``genesis_pipeline.services.sign_in.sign_in_mode`` (the CLI's
``genesis app`` asks it too, to refuse a public address with no sign-in): OpenID Connect via
Streamlit's ``st.login`` when ``secrets.toml`` configures it, else local accounts with a form,
else the one person on localhost with every right. A session ends after
``GENESIS_SESSION_HOURS`` or at "Sign out"; the signed-in user is looked up again on every run,
so a removed account or a changed role takes effect at the next click.
"""

from __future__ import annotations

import time
from typing import Any

import streamlit as st

from genesis_app import reads
from genesis_pipeline.errors import AuthenticationError
from genesis_pipeline.services import access, accounts, sign_in

_SESSION = "auth_session"  # local mode: {"name": str, "since": epoch seconds}
_SEEN = "auth_oidc_since"  # OIDC mode: when this browser session first saw the sign-in
ACTOR = "auth_actor"  # the Actor of this run, set by gate()


def _secrets() -> dict[str, Any]:
    try:
        return st.secrets.to_dict()
    except FileNotFoundError:  # no secrets.toml (Streamlit's StreamlitSecretNotFoundError)
        return {}


def mode() -> sign_in.Mode:
    """The sign-in mode of this app (see ``services.sign_in``)."""
    return sign_in.sign_in_mode(_secrets(), reads.store())


def _session_s() -> float:
    return float(reads.settings().session_hours) * 3600.0


def _client() -> str:
    try:
        ip = st.context.ip_address
    except AttributeError:
        ip = None
    return ip or "unknown"


def current_actor() -> access.Actor:
    """This run's actor: the signed-in user (set by :func:`gate`), or with no sign-in the local
    user. A page drawn without passing the gate (an AppTest of one page) in a signed-in mode
    gets the least role."""
    found = st.session_state.get(ACTOR)
    if isinstance(found, access.Actor):
        return found
    if mode() == "none":
        return access.local_actor()
    return access.Actor("user", "anonymous", "viewer")


def _signed_in(actor: access.Actor, how: str) -> access.Actor:
    st.session_state[ACTOR] = actor
    with st.sidebar:
        st.caption(f":material/person: Signed in as **{actor.name}** · {actor.role} ({how})")
        if st.button("Sign out", key="auth_sign_out", icon=":material/logout:"):
            sign_out()
    return actor


def sign_out() -> None:
    st.session_state.pop(ACTOR, None)
    st.session_state.pop(_SESSION, None)
    st.session_state.pop(_SEEN, None)
    if mode() == "oidc":
        st.logout()
    else:
        st.rerun()


def gate() -> access.Actor:
    """Sign the visitor in (or stop the run at the sign-in page); returns who acts."""
    current = mode()
    if current == "none":
        st.session_state[ACTOR] = access.local_actor()
        return access.local_actor()
    if current == "oidc":
        return _oidc_gate()
    return _local_gate()


def _expired(since: float) -> bool:
    return time.time() - since > _session_s()


def _oidc_gate() -> access.Actor:
    config = sign_in.oidc_config(_secrets())
    assert config is not None
    if not st.user.is_logged_in:
        _sign_in_page()
        st.caption("Sign in with your organisation's account.")
        for provider in config.providers:
            label = f"Sign in with {provider}" if provider else "Sign in"
            if st.button(label, key=f"auth_login_{provider}", type="primary"):
                if provider:
                    st.login(provider)
                else:
                    st.login()
        st.stop()
    claims = st.user.to_dict()
    # The ID token's issue time when the provider gives it: a reload keeps the session's age.
    iat = claims.get("iat")
    since = (
        float(iat)
        if isinstance(iat, int | float)
        else st.session_state.setdefault(_SEEN, time.time())
    )
    if _expired(since):
        st.session_state.pop(ACTOR, None)
        st.logout()
        st.stop()
    email = _text(claims.get("email"))
    subject = _text(claims.get("sub"))
    role = config.role_for(email, subject)
    name = str(email or subject or "unknown")
    if role is None:
        _sign_in_page()
        st.error(
            f"{name} has no role in Genesis: ask an admin to add you to [genesis.roles] in "
            "secrets.toml."
        )
        if st.button("Sign out", key="auth_sign_out_norole"):
            st.logout()
        st.stop()
    return _signed_in(access.Actor("user", name, role), "single sign-on")


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _local_gate() -> access.Actor:
    store = reads.store()
    session = st.session_state.get(_SESSION)
    if isinstance(session, dict) and not _expired(float(session["since"])):
        actor = accounts.user_actor(store, str(session["name"]))
        if actor is not None:
            return _signed_in(actor, "local account")
    expired = isinstance(session, dict)
    st.session_state.pop(_SESSION, None)
    st.session_state.pop(ACTOR, None)
    _sign_in_page()
    if expired:
        st.info("Your session ended: sign in again.", icon=":material/timer_off:")
    with st.form("auth_form"):
        name = st.text_input("User name", key="auth_name", autocomplete="username")
        password = st.text_input(
            "Password", type="password", key="auth_password", autocomplete="current-password"
        )
        submitted = st.form_submit_button("Sign in", type="primary")
    if submitted:
        try:
            actor = accounts.sign_in(store, name, password, _client())
        except AuthenticationError as exc:
            st.error(str(exc), icon=":material/lock:")
        else:
            st.session_state[_SESSION] = {"name": actor.name, "since": time.time()}
            st.session_state.pop("auth_password", None)
            st.rerun()
    st.stop()
    raise AssertionError("unreachable")  # st.stop() raises


def _sign_in_page() -> None:
    st.title(":material/movie_edit: Genesis")
    st.subheader("Sign in to review")
