"""Settings, read from the environment (prefix ``SIRKEL_``) and an optional ``.env`` file.

Nested groups use ``__`` as the delimiter: ``SIRKEL_DATABASE__URL``,
``SIRKEL_HTTP__MAX_BODY_BYTES``.
"""

from __future__ import annotations

import ipaddress
import re
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Values that ship in examples and defaults. Outside development and test they are refused.
PLACEHOLDER_SECRETS = frozenset({"", "change-me", "changeme", "secret", "dev-secret-change-me"})


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    STAGING = "staging"
    PRODUCTION = "production"


class DatabaseSettings(BaseModel):
    url: SecretStr = SecretStr("postgresql+asyncpg://postgres@127.0.0.1:54329/sirkel")
    pool_size: int = Field(default=10, ge=1, le=200)
    max_overflow: int = Field(default=5, ge=0, le=200)
    pool_timeout_s: float = Field(default=10.0, gt=0)
    connect_timeout_s: float = Field(default=5.0, gt=0)
    # Per-statement limit set on every connection; a runaway query becomes an error, not a hang.
    statement_timeout_ms: int = Field(default=15_000, ge=0)
    echo: bool = False


class HttpSettings(BaseModel):
    # Request bodies above this size get a 413 problem before any route sees them.
    max_body_bytes: int = Field(default=1_048_576, ge=1)
    # Each part of a request body must arrive within this many seconds, or 408.
    body_read_timeout_s: float = Field(default=30.0, gt=0, le=600)
    # Larger limits by exact path (the ORDS import follows SIRKEL_IMPORTS__MAX_BYTES, photos
    # SIRKEL_PHOTOS__MAX_UPLOAD_BYTES). From the environment as JSON, e.g.
    # SIRKEL_HTTP__MAX_BODY_BYTES_BY_PATH='{"/v1/repairs/import": 20971520}'.
    max_body_bytes_by_path: dict[str, Annotated[int, Field(ge=1)]] = Field(default_factory=dict)
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    cors_allow_credentials: bool = False
    # Proxies whose X-Forwarded-For and X-Forwarded-Proto are believed (IP addresses or
    # networks, comma-separated: "10.0.0.0/8,127.0.0.1"). Default none: the client is the
    # connection's peer, whatever headers it sends.
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _split_origins(cls, data: object) -> object:
        # Accept "https://a.no,https://b.no" from the environment as well as a JSON list.
        if isinstance(data, dict) and isinstance(data.get("cors_origins"), str):
            raw = data["cors_origins"].strip()
            data["cors_origins"] = [o.strip() for o in raw.split(",") if o.strip()]
        if isinstance(data, dict) and isinstance(data.get("trusted_proxies"), str):
            raw = data["trusted_proxies"].strip()
            data["trusted_proxies"] = [p.strip() for p in raw.split(",") if p.strip()]
        return data

    @model_validator(mode="after")
    def _proxies_are_addresses(self) -> HttpSettings:
        for proxy in self.trusted_proxies:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                raise ValueError(
                    f"SIRKEL_HTTP__TRUSTED_PROXIES: {proxy!r} is not an IP address or network"
                ) from None
        return self


class AuthSettings(BaseModel):
    jwt_secret: SecretStr = SecretStr("dev-secret-change-me")
    access_token_ttl_s: int = Field(default=900, ge=60, le=3600)
    refresh_token_ttl_s: int = Field(default=30 * 24 * 3600, ge=3600)
    # Argon2id cost (OWASP's second recommended profile: 19 MiB, t=2, p=1 is the floor).
    argon2_time_cost: int = Field(default=3, ge=1)
    argon2_memory_kib: int = Field(default=65_536, ge=8)
    argon2_parallelism: int = Field(default=2, ge=1)
    # Failed logins allowed in the window, per account and per client address.
    login_window_s: int = Field(default=900, ge=1)
    login_max_failures_per_account: int = Field(default=5, ge=1)
    login_max_failures_per_address: int = Field(default=20, ge=1)
    # Past this many failures for one account from anywhere, each attempt for it waits first
    # (doubling from login_slow_delay_s, at most 4 s): distributed guessing slows down and
    # nobody is locked out (the per-account lock is per account and address).
    login_slow_after_failures: int = Field(default=10, ge=1)
    login_slow_delay_s: float = Field(default=0.25, ge=0, le=4)


class ListingSettings(BaseModel):
    # An active item listing expires this long after it was published or last renewed.
    item_ttl_days: int = Field(default=60, ge=1, le=365)


class MatchingSettings(BaseModel):
    """How far a match may be when neither listing says (``details.max_distance_km``), in km.
    Heat rarely travels further than a local pipe; cooling and steam less; materials go by
    lorry; a household fetches an item across town."""

    heat_km: float = Field(default=10, gt=0, le=2000)
    cooling_km: float = Field(default=5, gt=0, le=2000)
    steam_km: float = Field(default=5, gt=0, le=2000)
    electricity_km: float = Field(default=50, gt=0, le=2000)
    material_km: float = Field(default=150, gt=0, le=2000)
    space_km: float = Field(default=30, gt=0, le=2000)
    item_km: float = Field(default=25, gt=0, le=2000)


class TransactionSettings(BaseModel):
    # An unanswered request expires this long after it was made (a booking request also
    # expires when its period starts).
    request_ttl_hours: int = Field(default=72, ge=1, le=24 * 30)
    # A hold that reaches the front of its queue keeps the unit this long for pickup.
    hold_pickup_hours: int = Field(default=48, ge=1, le=24 * 14)


class SmtpSettings(BaseModel):
    """E-mail from the outbox worker. With no ``host`` e-mail is off: nothing is planned for
    it, and readiness does not depend on it."""

    host: str | None = None
    port: int = Field(default=587, ge=1, le=65535)
    username: str | None = None
    password: SecretStr | None = None
    # STARTTLS on a plain connection (587), or TLS from the first byte (465); both off only
    # for a local relay.
    starttls: bool = True
    use_tls: bool = False
    sender: str = "Sirkel <noreply@sirkel.no>"
    timeout_s: float = Field(default=10.0, gt=0)

    @property
    def enabled(self) -> bool:
        return bool(self.host)


class WorkerSettings(BaseModel):
    # How often an idle worker looks for new events and due deliveries.
    poll_interval_s: float = Field(default=1.0, gt=0, le=60)
    batch_size: int = Field(default=50, ge=1, le=1000)
    # Retries back off exponentially from the first delay, up to the cap, and stop after
    # ``give_up_after_hours`` (the delivery is then dead).
    retry_first_delay_s: float = Field(default=30.0, gt=0)
    retry_max_delay_s: float = Field(default=3600.0, gt=0)
    give_up_after_hours: float = Field(default=24.0, gt=0)


class RateLimitSettings(BaseModel):
    """Request budgets per caller and minute (``app.ratelimit``), per API process: with N
    processes behind a balancer a caller gets up to N times these. The caller is the person or
    API key when the request carries valid credentials, else the client address."""

    enabled: bool = True
    register_per_hour: int = Field(default=20, ge=1)
    token_per_minute: int = Field(default=30, ge=1)
    search_per_minute: int = Field(default=300, ge=1)
    tiles_per_minute: int = Field(default=3000, ge=1)
    reads_per_minute: int = Field(default=1200, ge=1)
    writes_per_minute: int = Field(default=120, ge=1)
    imports_per_hour: int = Field(default=20, ge=1)


class MetricsSettings(BaseModel):
    # ``GET /metrics`` (Prometheus) answers only with ``Authorization: Bearer <token>``; with no
    # token it is off (404). At least 32 characters: it guards operational detail.
    token: SecretStr | None = Field(default=None, min_length=32)


class PhotoSettings(BaseModel):
    """Listing photos: limits, renditions and where they are stored (``app.services.photos``)."""

    # ``local`` keeps files under ``local_dir`` (default: ``<data_dir>/photos``); ``s3`` uses
    # any S3-compatible store (AWS, MinIO, Ceph, R2...).
    storage: Literal["local", "s3"] = "local"
    local_dir: Path | None = None
    s3_bucket: str | None = None
    s3_endpoint: str | None = None
    s3_region: str | None = None
    s3_access_key_id: str | None = None
    s3_secret_access_key: SecretStr | None = None
    s3_prefix: str = "photos"
    max_upload_bytes: int = Field(default=15 * 1024 * 1024, ge=1024)
    max_pixels: int = Field(default=50_000_000, ge=10_000)
    rendition_sizes: tuple[int, ...] = (320, 960, 1920)
    # Decodes at once per process: each holds a full-size bitmap (a 12 MP photo is ~36 MB).
    max_concurrent_decodes: int = Field(default=2, ge=1, le=64)

    @model_validator(mode="after")
    def _s3_needs_a_bucket(self) -> PhotoSettings:
        if self.storage == "s3" and not self.s3_bucket:
            raise ValueError("SIRKEL_PHOTOS__S3_BUCKET is required when SIRKEL_PHOTOS__STORAGE=s3")
        return self


_FRAME_ANCESTOR = re.compile(r"^(\*|'self'|'none'|https?://(\*\.)?[A-Za-z0-9.-]+(:[0-9]{1,5})?)$")


class EmbedSettings(BaseModel):
    """The embeddable map (``/embed``) that municipalities put in an iframe."""

    # Where `npm ci` in web/ put the browser assets (scripts/dev.sh web).
    assets_dir: Path = PROJECT_ROOT / "web" / "node_modules"
    # Who may frame the pages (CSP frame-ancestors): "*" (default: any site), or a
    # comma-separated list of origins such as "https://www.bergen.kommune.no,'self'".
    frame_ancestors: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["*"])
    # A popup's "open" link: a URL with {id} (the listing's id), e.g. the municipality's or an
    # app's page for a listing. Unset: the popup links to the listing in Sirkel's API.
    listing_url_template: str | None = Field(
        default=None, pattern=r"^https?://[^\s]+$", max_length=500
    )
    # An operator's raster basemap under Sirkel's own geography, e.g. Kartverket's open
    # topographic tiles, "https://cache.kartverket.no/v1/wmts/1.0.0/topo/default/webmercator/
    # {z}/{y}/{x}.png", with its attribution. Unset: Sirkel's own boundaries are the basemap.
    basemap_tiles: str | None = Field(
        default=None, pattern=r"^https://[^\s/]+/[^\s]*\{z\}[^\s]*$", max_length=500
    )
    basemap_attribution: str = Field(default="© Kartverket", max_length=300)
    basemap_max_zoom: int = Field(default=18, ge=1, le=22)

    @model_validator(mode="before")
    @classmethod
    def _split_ancestors(cls, data: object) -> object:
        if isinstance(data, dict) and isinstance(data.get("frame_ancestors"), str):
            raw = data["frame_ancestors"].strip()
            data["frame_ancestors"] = [a.strip() for a in raw.split(",") if a.strip()]
        return data

    @model_validator(mode="after")
    def _ancestors_are_sources(self) -> EmbedSettings:
        if not self.frame_ancestors:
            raise ValueError("SIRKEL_EMBED__FRAME_ANCESTORS: name at least one source, or '*'")
        for source in self.frame_ancestors:
            if not _FRAME_ANCESTOR.match(source):
                raise ValueError(
                    f"SIRKEL_EMBED__FRAME_ANCESTORS: {source!r} is not '*', 'self', 'none' or "
                    "an origin like https://www.example.kommune.no"
                )
        if self.listing_url_template is not None and "{id}" not in self.listing_url_template:
            raise ValueError("SIRKEL_EMBED__LISTING_URL_TEMPLATE must contain {id}")
        return self


class ImportSettings(BaseModel):
    """ORDS imports as jobs (``app.services.repair_import``)."""

    # The upload as sent (gzip counts compressed); larger is 413 before anything is stored.
    max_bytes: int = Field(default=100 * 1_048_576, ge=1)
    # The file unpacked: a gzip bomb stops here (a row error names the limit).
    max_unpacked_bytes: int = Field(default=1_073_741_824, ge=1)
    max_rows: int = Field(default=2_000_000, ge=1)
    # Rows applied per transaction: the ledger's lock is held for one batch only.
    batch_rows: int = Field(default=1000, ge=1, le=50_000)
    # A job whose worker has not been heard of for this long is taken over by another.
    stale_after_s: float = Field(default=300, gt=0)
    # Attempts at a job (a worker that died, a database that went away) before it fails.
    max_attempts: int = Field(default=3, ge=1, le=20)


class ReportSettings(BaseModel):
    """The yearly report as PDF (``GET /v1/impact/report/{year}.pdf``, ``app.render.pdf``):
    Debian's headless Chromium prints the report's HTML, as the browser tests do."""

    # Debian's `chromium` package (`make run` and `make test` install it as root).
    chromium: Path = Path("/usr/bin/chromium")
    # Seconds before a print is given up (the process group is killed).
    pdf_timeout_s: float = Field(default=60, gt=0, le=600)
    # Prints at once per process; more wait their turn (each Chromium takes ~150 MB).
    pdf_concurrency: int = Field(default=1, ge=1, le=8)
    # Chromium's sandbox. It cannot run as root, nor in most containers without user
    # namespaces; the page it prints is Sirkel's own (escaped, CSP without script, no
    # network), so it is off by default and may be switched on where the kernel allows it.
    chromium_sandbox: bool = False


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SIRKEL_",
        env_nested_delimiter="__",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    environment: Environment = Environment.DEVELOPMENT
    log_level: str = Field(default="INFO", pattern=r"^(DEBUG|INFO|WARNING|ERROR|CRITICAL)$")
    log_json: bool = True
    data_dir: Path = PROJECT_ROOT / "data"
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    http: HttpSettings = Field(default_factory=HttpSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    listings: ListingSettings = Field(default_factory=ListingSettings)
    matching: MatchingSettings = Field(default_factory=MatchingSettings)
    transactions: TransactionSettings = Field(default_factory=TransactionSettings)
    smtp: SmtpSettings = Field(default_factory=SmtpSettings)
    worker: WorkerSettings = Field(default_factory=WorkerSettings)
    photos: PhotoSettings = Field(default_factory=PhotoSettings)
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)
    rate_limits: RateLimitSettings = Field(default_factory=RateLimitSettings)
    embed: EmbedSettings = Field(default_factory=EmbedSettings)
    report: ReportSettings = Field(default_factory=ReportSettings)
    imports: ImportSettings = Field(default_factory=ImportSettings)
    # Where people reach Sirkel: the links in e-mails (unsubscribe) start with it.
    public_base_url: str = Field(default="http://127.0.0.1:8000", pattern=r"^https?://[^\s/]+")

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> Settings:
        if self.environment in (Environment.DEVELOPMENT, Environment.TEST):
            return self
        if self.auth.jwt_secret.get_secret_value() in PLACEHOLDER_SECRETS:
            raise ValueError(
                f"SIRKEL_AUTH__JWT_SECRET is a placeholder; set a real secret in {self.environment}"
            )
        if len(self.auth.jwt_secret.get_secret_value()) < 32:
            raise ValueError("SIRKEL_AUTH__JWT_SECRET must be at least 32 characters")
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()
