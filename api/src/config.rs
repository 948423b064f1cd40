//! The API's settings, read once from the environment.
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `MINDWELL_BIND` | `127.0.0.1:8080` | listen address |
//! | `MINDWELL_JWT_SECRET` | random per start (development only) | HS256 key, at least 32 bytes; required in production |
//! | `MINDWELL_ACCESS_TTL_SECS` | `900` | access token lifetime |
//! | `MINDWELL_REFRESH_TTL_SECS` | `2592000` (30 days) | refresh token lifetime |
//! | `MINDWELL_ADMIN_EMAIL`, `MINDWELL_ADMIN_PASSWORD` | unset | bootstrap admin, created if missing |
//! | `MINDWELL_RATE_AUTH_PER_EMAIL` | `10` | auth calls per email per minute |
//! | `MINDWELL_RATE_AUTH_PER_IP` | `100` | auth calls per client IP per minute |
//! | `MINDWELL_TRUST_PROXY` | `false` | take the client IP from `X-Forwarded-For` |
//! | `MINDWELL_BCRYPT_COST` | `12` | bcrypt cost (tests lower it) |
//! | `MINDWELL_DB_POOL` | `16` | database connections |
//! | `MINDWELL_COOKIE_SECURE` | `true` | `Secure` flag on auth cookies |
//! | `MINDWELL_DASHBOARD_CACHE` | `true` | cache dashboards in Redis (cache-aside, invalidated on every write) |
//!
//! Plus the shared `MINDWELL_ENV`, `DATABASE_URL`, `REDIS_URL`, `MINDWELL_DATA_DIR`.

pub use mindwell_shared::secret::Secret;
use mindwell_shared::{
    BootError,
    config::{Backends, Profile, parse_var, var},
};
use rand::Rng;

/// Everything `mindwell-api` reads from its environment.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    pub backends: Backends,
    pub bind: String,
    pub jwt_secret: Secret,
    pub access_ttl_secs: i64,
    pub refresh_ttl_secs: i64,
    pub admin: Option<(String, Secret)>,
    pub rate_auth_per_email: u32,
    pub rate_auth_per_ip: u32,
    pub trust_proxy: bool,
    pub bcrypt_cost: u32,
    pub db_pool: u32,
    pub cookie_secure: bool,
    pub dashboard_cache: bool,
    /// After SIGTERM, how long the API keeps serving as before while
    /// readiness answers 503, before it closes its listener (see `shutdown`).
    pub shutdown_drain: std::time::Duration,
}

impl ApiConfig {
    pub fn from_env() -> Result<Self, BootError> {
        let backends = Backends::from_env()?;
        let jwt_secret = match var("MINDWELL_JWT_SECRET") {
            Some(s) if s.len() >= 32 && !is_placeholder(&s) => s,
            Some(_) if backends.profile == Profile::Production => {
                return Err(BootError::Config("MINDWELL_JWT_SECRET is too weak: use at least 32 random bytes".into()));
            }
            None if backends.profile == Profile::Production => {
                return Err(BootError::Config("MINDWELL_JWT_SECRET is required in production".into()));
            }
            Some(s) => {
                tracing::warn!("MINDWELL_JWT_SECRET is weak; acceptable in development only");
                s
            }
            None => {
                tracing::warn!("MINDWELL_JWT_SECRET unset: using a random key; tokens die with this process");
                let bytes: [u8; 32] = rand::rng().random();
                hex::encode(bytes)
            }
        };
        let admin = match (var("MINDWELL_ADMIN_EMAIL"), var("MINDWELL_ADMIN_PASSWORD")) {
            (Some(e), Some(p)) => Some((e, Secret::new(p))),
            (None, None) => None,
            _ => {
                return Err(BootError::Config(
                    "set both MINDWELL_ADMIN_EMAIL and MINDWELL_ADMIN_PASSWORD, or neither".into(),
                ));
            }
        };
        Ok(Self {
            backends,
            bind: var("MINDWELL_BIND").unwrap_or_else(|| "127.0.0.1:8080".into()),
            jwt_secret: Secret::new(jwt_secret),
            access_ttl_secs: parse_var("MINDWELL_ACCESS_TTL_SECS", 900)?,
            refresh_ttl_secs: parse_var("MINDWELL_REFRESH_TTL_SECS", 30 * 24 * 3600)?,
            admin,
            rate_auth_per_email: parse_var("MINDWELL_RATE_AUTH_PER_EMAIL", 10)?,
            rate_auth_per_ip: parse_var("MINDWELL_RATE_AUTH_PER_IP", 100)?,
            trust_proxy: parse_var("MINDWELL_TRUST_PROXY", false)?,
            bcrypt_cost: parse_var("MINDWELL_BCRYPT_COST", bcrypt::DEFAULT_COST)?.clamp(4, 31),
            db_pool: parse_var("MINDWELL_DB_POOL", 16)?,
            cookie_secure: parse_var("MINDWELL_COOKIE_SECURE", true)?,
            dashboard_cache: parse_var("MINDWELL_DASHBOARD_CACHE", true)?,
            shutdown_drain: std::time::Duration::from_millis(parse_var("MINDWELL_SHUTDOWN_DRAIN_MS", 5_000u64)?),
        })
    }
}

fn is_placeholder(s: &str) -> bool {
    let lower = s.to_ascii_lowercase();
    ["changeme", "change-me", "secret", "password", "example"].iter().any(|w| lower.contains(w))
        || s.chars().all(|c| c == s.chars().next().unwrap_or(' '))
}
