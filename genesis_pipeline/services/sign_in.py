"""How the review app signs people in, decided in one place for the app and ``genesis app``.

Three modes, the first that applies:

``oidc``
    An OpenID Connect provider is configured in ``.streamlit/secrets.toml`` (an ``[auth]``
    table with a ``client_id``, or named providers ``[auth.<name>]``): Streamlit's ``st.login``
    signs people in, and ``[genesis.roles]`` maps their email (or subject) to a role, with
    ``[genesis] default_role`` for everyone else (absent: people not listed are refused).
``local``
    Local accounts exist (``genesis user add``): a sign-in form checks their passwords.
``none``
    Neither: the one person on this machine uses the app with every right. Only on a local
    address: ``genesis app`` refuses another address unless ``--insecure-no-auth``.
"""

from __future__ import annotations

import ipaddress
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from genesis_pipeline.errors import InvalidSettingError
from genesis_pipeline.services.access import Role, check_role
from genesis_pipeline.services.accounts import has_users
from genesis_pipeline.store import Store

Mode = Literal["oidc", "local", "none"]


@dataclass(frozen=True, slots=True)
class OidcConfig:
    """The OpenID Connect side of ``secrets.toml``.

    Attributes:
        providers: the names ``st.login`` takes (``None``: the one unnamed ``[auth]`` provider).
        roles: lower-cased email or subject -> role.
        default_role: the role of a signed-in person not in ``roles`` (None: refused).
    """

    providers: tuple[str | None, ...]
    roles: dict[str, Role] = field(default_factory=dict)
    default_role: Role | None = None

    def role_for(self, email: str | None, subject: str | None) -> Role | None:
        for key in (email, subject):
            if key and key.strip().lower() in self.roles:
                return self.roles[key.strip().lower()]
        return self.default_role


def secrets_paths(app_root: Path) -> list[Path]:
    """Where Streamlit looks for ``secrets.toml`` when the app runs from ``app_root``."""
    return [app_root / ".streamlit" / "secrets.toml", Path.home() / ".streamlit" / "secrets.toml"]


def read_secrets(paths: Sequence[Path]) -> dict[str, Any]:
    """The secrets Streamlit would see: the files merged, later ones first (as Streamlit does,
    the project's file wins over the user's).

    Raises:
        InvalidSettingError: a file is not valid TOML (names it).
    """
    merged: dict[str, Any] = {}
    for path in reversed(list(paths)):
        if not path.is_file():
            continue
        try:
            merged.update(tomllib.loads(path.read_text(encoding="utf-8")))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise InvalidSettingError(str(path), f"is not valid TOML ({exc})") from None
    return merged


def oidc_config(secrets: Mapping[str, Any]) -> OidcConfig | None:
    """The OpenID Connect configuration in ``secrets`` (None: none is configured).

    Raises:
        InvalidSettingError: a role in ``[genesis.roles]`` or ``default_role`` is not viewer,
            reviewer or admin.
    """
    auth = secrets.get("auth")
    if not isinstance(auth, Mapping):
        return None
    providers: list[str | None] = []
    if auth.get("client_id"):
        providers.append(None)
    providers += [k for k, v in auth.items() if isinstance(v, Mapping) and v.get("client_id")]
    if not providers:
        return None
    genesis = secrets.get("genesis")
    genesis = genesis if isinstance(genesis, Mapping) else {}
    raw_roles = genesis.get("roles")
    roles = {
        str(k).strip().lower(): check_role(str(v), f"secrets.toml [genesis.roles] {k}")
        for k, v in (raw_roles.items() if isinstance(raw_roles, Mapping) else ())
    }
    default = genesis.get("default_role")
    default_role = (
        check_role(str(default), "secrets.toml [genesis] default_role") if default else None
    )
    return OidcConfig(tuple(providers), roles, default_role)


def sign_in_mode(secrets: Mapping[str, Any], store: Store) -> Mode:
    """Which of the three modes applies (see the module's docstring)."""
    if oidc_config(secrets) is not None:
        return "oidc"
    if has_users(store):
        return "local"
    return "none"


def is_local_address(address: str) -> bool:
    """Whether binding ``address`` keeps the app on this machine (loopback only)."""
    host = address.strip().strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_address(address: str, mode: Mode, *, insecure_no_auth: bool = False) -> None:
    """Refuse to serve the app beyond this machine with nobody signing in.

    Raises:
        InvalidSettingError: ``address`` is not a loopback address, no sign-in is configured
            and ``insecure_no_auth`` was not given.
    """
    if mode == "none" and not insecure_no_auth and not is_local_address(address):
        raise InvalidSettingError(
            "--address",
            f"{address} would let anyone who reaches it approve, delete and render with no "
            "sign-in: add local accounts (genesis user add NAME --role admin) or an OpenID "
            "Connect provider in .streamlit/secrets.toml, or pass --insecure-no-auth",
        )
