"""Runtime settings, read once from the environment: where data lives, which database, which login."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class OidcSettings:
    """An OpenID Connect provider (e.g. ДАН); citizen login uses it when `issuer` is set."""

    issuer: str
    client_id: str
    client_secret: str
    redirect_uri: str
    scope: str = "openid profile"
    register_claim: str = "regnum"  # the userinfo claim that holds the citizen's register number


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    secret_key: str
    catalog_paths: tuple[str, ...] = ("service_defs",)
    cookie_secure: bool = False
    max_request_mb: int = 110
    oidc: OidcSettings | None = None
    dev_login: bool = True
    dev_payments: bool = True  # a "pay" button that confirms at once, until a payment gateway is configured
    template_dirs: tuple[Path, ...] = field(default_factory=tuple)  # deployers' overrides, searched first

    @property
    def upload_dir(self) -> Path:
        return self.data_dir / "uploads"


def _secret(data_dir: Path) -> str:
    """A secret generated once into the data folder, so sessions survive restarts."""
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(key)
    return key


def load_settings(env: dict[str, str] | None = None, **overrides: object) -> Settings:
    env = dict(os.environ if env is None else env)
    data_dir = Path(env.get("TSONKH_DATA_DIR", "data")).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    database_url = env.get("DATABASE_URL") or f"sqlite:///{data_dir / 'tsonkh.db'}"
    oidc = None
    if env.get("TSONKH_OIDC_ISSUER"):
        oidc = OidcSettings(
            issuer=env["TSONKH_OIDC_ISSUER"].rstrip("/"),
            client_id=env.get("TSONKH_OIDC_CLIENT_ID", ""),
            client_secret=env.get("TSONKH_OIDC_CLIENT_SECRET", ""),
            redirect_uri=env.get("TSONKH_OIDC_REDIRECT_URI", ""),
            scope=env.get("TSONKH_OIDC_SCOPE", "openid profile"),
            register_claim=env.get("TSONKH_OIDC_REGISTER_CLAIM", "regnum"),
        )
    templates = tuple(Path(p) for p in env.get("TSONKH_TEMPLATE_DIRS", "").split(os.pathsep) if p)
    values: dict[str, object] = {
        "data_dir": data_dir,
        "database_url": database_url,
        "secret_key": env.get("TSONKH_SECRET_KEY") or _secret(data_dir),
        "catalog_paths": tuple(p for p in env.get("TSONKH_CATALOG", "service_defs").split(os.pathsep) if p),
        "cookie_secure": env.get("TSONKH_COOKIE_SECURE", "0") == "1",
        "oidc": oidc,
        "dev_login": env.get("TSONKH_DEV_LOGIN", "1") == "1",
        "dev_payments": env.get("TSONKH_DEV_PAYMENTS", "1") == "1",
        "max_request_mb": int(env.get("TSONKH_MAX_REQUEST_MB", "110")),
        "template_dirs": templates,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]
