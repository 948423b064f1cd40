//! The API's settings, read once from the environment.
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `MINDWELL_BIND` | `127.0.0.1:8080` | listen address |
//! | `MINDWELL_JWT_SECRET` | random per start (development only) | HS256 key, at least 32 bytes; required in production; a published placeholder (`change-me`) is refused unless `MINDWELL_ENV=test` |
//! | `MINDWELL_ACCESS_TTL_SECS` | `900` | access token lifetime |
//! | `MINDWELL_REFRESH_TTL_SECS` | `2592000` (30 days) | refresh token lifetime |
//! | `MINDWELL_ADMIN_EMAIL`, `MINDWELL_ADMIN_PASSWORD` | unset | bootstrap admin, created if missing |
//! | `MINDWELL_RATE_AUTH_PER_EMAIL` | `10` | auth calls per email per minute |
//! | `MINDWELL_RATE_AUTH_PER_IP` | `100` | auth calls per client IP per minute |
//! | `MINDWELL_TRUST_PROXY` | `false` | take the client IP from `X-Forwarded-For` |
//! | `MINDWELL_TRUSTED_PROXY_HOPS` | `1` | proxies in front of the API that append to `X-Forwarded-For`: the client IP is the entry this far from the right |
//! | `MINDWELL_CORS_ORIGINS` | none | comma-separated browser origins (`https://app.example.com`) allowed to call with credentials (CORS) |
//! | `MINDWELL_BCRYPT_COST` | `12` | bcrypt cost (tests lower it) |
//! | `MINDWELL_DB_POOL` | `16` | database connections |
//! | `MINDWELL_COOKIE_SECURE` | `true` | `Secure` flag on auth cookies |
//! | `MINDWELL_DASHBOARD_CACHE` | `true` | cache dashboards in Redis (cache-aside, invalidated on every write) |
//! | `MINDWELL_SSE_KEEPALIVE_SECS` | `15` | keep-alive comment interval of SSE streams; a stream whose client left ends at the second unwritable one |
//!
//! Plus the shared `MINDWELL_ENV`, `DATABASE_URL`, `REDIS_URL`, `MINDWELL_DATA_DIR`.

pub use mindwell_shared::secret::Secret;
use mindwell_shared::{
    BootError,
    config::{Backends, Profile, parse_var, var},
};
use rand::Rng;

use crate::browser::Origin;

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
    /// With `trust_proxy`, how many proxies append to `X-Forwarded-For`; at least 1.
    pub trusted_proxy_hops: usize,
    /// Browser origins allowed by CORS, credentials included (see `crate::browser`).
    pub cors_origins: Vec<Origin>,
    pub bcrypt_cost: u32,
    pub db_pool: u32,
    pub cookie_secure: bool,
    pub dashboard_cache: bool,
    /// After SIGTERM, how long the API keeps serving as before while
    /// readiness answers 503, before it closes its listener (see `shutdown`).
    pub shutdown_drain: std::time::Duration,
    /// How often an SSE stream sends its keep-alive comment; a stream whose
    /// client went away ends at the second one that cannot be written.
    pub sse_keep_alive: std::time::Duration,
}

impl ApiConfig {
    pub fn from_env() -> Result<Self, BootError> {
        let backends = Backends::from_env()?;
        let jwt_secret = jwt_secret(var("MINDWELL_JWT_SECRET"), backends.profile, explicit_test_profile())?;
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
            trusted_proxy_hops: match parse_var("MINDWELL_TRUSTED_PROXY_HOPS", 1)? {
                0 => return Err(BootError::Config("MINDWELL_TRUSTED_PROXY_HOPS must be at least 1".into())),
                hops => hops,
            },
            cors_origins: cors_origins()?,
            bcrypt_cost: parse_var("MINDWELL_BCRYPT_COST", bcrypt::DEFAULT_COST)?.clamp(4, 31),
            db_pool: parse_var("MINDWELL_DB_POOL", 16)?,
            cookie_secure: parse_var("MINDWELL_COOKIE_SECURE", true)?,
            dashboard_cache: parse_var("MINDWELL_DASHBOARD_CACHE", true)?,
            shutdown_drain: std::time::Duration::from_millis(parse_var("MINDWELL_SHUTDOWN_DRAIN_MS", 5_000u64)?),
            sse_keep_alive: std::time::Duration::from_secs(parse_var("MINDWELL_SSE_KEEPALIVE_SECS", 15u64)?.max(1)),
        })
    }
}

/// `MINDWELL_CORS_ORIGINS`: comma-separated origins; one that does not parse
/// stops the start.
fn cors_origins() -> Result<Vec<Origin>, BootError> {
    let Some(list) = var("MINDWELL_CORS_ORIGINS") else {
        return Ok(Vec::new());
    };
    list.split(',')
        .filter(|o| !o.trim().is_empty())
        .map(|o| Origin::parse(o).map_err(|e| BootError::Config(format!("MINDWELL_CORS_ORIGINS: {e}"))))
        .collect()
}

/// `MINDWELL_ENV=test` exactly: the one profile that may run on a published
/// placeholder secret (it reads as development otherwise).
fn explicit_test_profile() -> bool {
    var("MINDWELL_ENV").as_deref() == Some("test")
}

/// The JWT secret. A known placeholder (the published examples of
/// docker/compose.yml and the Kubernetes base: anyone can sign tokens with
/// it) is refused in every profile but an explicit `test`; a weak one (short
/// or word-like) is refused in production and warned about elsewhere; an
/// unset one is random per start outside production.
fn jwt_secret(value: Option<String>, profile: Profile, explicit_test: bool) -> Result<String, BootError> {
    match value {
        Some(s) if is_placeholder(&s) && !explicit_test => Err(BootError::Config(
            "MINDWELL_JWT_SECRET is a published placeholder: set a random one (`openssl rand -hex 32`)".into(),
        )),
        Some(s) if s.len() >= 32 && !is_weak(&s) => Ok(s),
        Some(_) if profile == Profile::Production => {
            Err(BootError::Config("MINDWELL_JWT_SECRET is too weak: use at least 32 random bytes".into()))
        }
        None if profile == Profile::Production => {
            Err(BootError::Config("MINDWELL_JWT_SECRET is required in production".into()))
        }
        Some(s) => {
            tracing::warn!("MINDWELL_JWT_SECRET is weak; acceptable in development only");
            Ok(s)
        }
        None => {
            tracing::warn!("MINDWELL_JWT_SECRET unset: using a random key; tokens die with this process");
            let bytes: [u8; 32] = rand::rng().random();
            Ok(hex::encode(bytes))
        }
    }
}

/// A value shipped as an example that someone forgot to replace
/// (`change-me`, `changeme`, one repeated character).
fn is_placeholder(s: &str) -> bool {
    let lower = s.to_ascii_lowercase();
    ["changeme", "change-me", "change_me", "replace-me", "replaceme"].iter().any(|w| lower.contains(w))
        || s.chars().all(|c| c == s.chars().next().unwrap_or(' '))
}

/// Word-like: fine to try things out with, never in production.
fn is_weak(s: &str) -> bool {
    let lower = s.to_ascii_lowercase();
    is_placeholder(s) || ["secret", "password", "example"].iter().any(|w| lower.contains(w))
}

#[cfg(test)]
mod tests {
    use mindwell_shared::config::Profile;

    use super::jwt_secret;

    const COMPOSE_DEFAULT: &str = "dev-only-change-me-0123456789abcdef0123456789";
    const RANDOM: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    #[test]
    fn a_published_placeholder_is_refused_in_every_profile_but_an_explicit_test() {
        for profile in [Profile::Development, Profile::Production] {
            let err = jwt_secret(Some(COMPOSE_DEFAULT.into()), profile, false).expect_err("placeholder");
            assert!(err.to_string().contains("MINDWELL_JWT_SECRET"), "{err}");
            assert!(jwt_secret(Some("x".repeat(40)), profile, false).is_err());
        }
        assert!(jwt_secret(Some(COMPOSE_DEFAULT.into()), Profile::Development, true).is_ok());
    }

    #[test]
    fn development_still_runs_without_a_secret_or_with_a_weak_one() {
        let random = jwt_secret(None, Profile::Development, false).expect("random");
        assert_eq!(random.len(), 64);
        assert!(
            jwt_secret(Some("observability-test-secret-0123456789abcdef".into()), Profile::Development, false).is_ok()
        );
        assert!(jwt_secret(Some("short".into()), Profile::Development, false).is_ok());
    }

    #[test]
    fn production_wants_a_long_random_secret() {
        assert!(jwt_secret(None, Profile::Production, false).is_err());
        assert!(jwt_secret(Some("short".into()), Profile::Production, false).is_err());
        assert!(jwt_secret(Some("my-production-secret-0123456789abcdef".into()), Profile::Production, false).is_err());
        assert_eq!(jwt_secret(Some(RANDOM.into()), Profile::Production, false).expect("random"), RANDOM);
    }
}
