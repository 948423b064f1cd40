//! Auth rate limits: per client IP and per email, fixed one-minute windows.

use poem::Request;

use crate::{error::ApiError, state::AppState};

const WINDOW_SECS: i64 = 60;

/// The client's IP: the socket peer, or the first `X-Forwarded-For` hop when
/// `MINDWELL_TRUST_PROXY` is on.
fn client_ip(state: &AppState, req: &Request) -> String {
    if state.config.trust_proxy
        && let Some(ip) =
            req.headers().get("x-forwarded-for").and_then(|h| h.to_str().ok()).and_then(|h| h.split(',').next())
    {
        return ip.trim().to_owned();
    }
    match req.remote_addr().as_socket_addr() {
        Some(addr) => addr.ip().to_string(),
        None => req.remote_addr().to_string(),
    }
}

/// Counts this call; 429 `rate_limited` with `Retry-After` when over a limit.
/// While Redis is unavailable the limit is not enforced (counted and logged):
/// sign-in keeps working, and bcrypt still bounds how fast passwords are tried.
pub async fn check(state: &AppState, req: &Request, email: Option<&str>) -> Result<(), ApiError> {
    crate::infra::kv::or_fail_open("rate_limit", enforce(state, req, email).await, || ())
}

async fn enforce(state: &AppState, req: &Request, email: Option<&str>) -> Result<(), ApiError> {
    let ip_key = format!("rl:auth:ip:{}", client_ip(state, req));
    let (count, reset) = state.kv.hit(&ip_key, WINDOW_SECS).await?;
    if count > u64::from(state.config.rate_auth_per_ip) {
        return Err(ApiError::RateLimited(reset));
    }
    if let Some(email) = email {
        let key = format!("rl:auth:email:{}", email_key(email));
        let (count, reset) = state.kv.hit(&key, WINDOW_SECS).await?;
        if count > u64::from(state.config.rate_auth_per_email) {
            return Err(ApiError::RateLimited(reset));
        }
    }
    Ok(())
}

/// Emails are hashed in keys so Redis holds no personal data.
fn email_key(email: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(&Sha256::digest(email.to_lowercase().as_bytes())[..16])
}
