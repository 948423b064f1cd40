//! Auth rate limits: per client IP and per email, fixed one-minute windows.

use std::net::{IpAddr, SocketAddr};

use poem::Request;

use crate::{error::ApiError, state::AppState};

const WINDOW_SECS: i64 = 60;

/// The client's IP: the socket peer or, when `MINDWELL_TRUST_PROXY` is on,
/// what the trusted proxies say it is.
pub(crate) fn client_ip(state: &AppState, req: &Request) -> String {
    let peer = req.remote_addr().as_socket_addr().map(|addr| addr.ip());
    let forwarded = state.config.trust_proxy.then(|| forwarded_client(req, state.config.trusted_proxy_hops)).flatten();
    match forwarded.or(peer) {
        Some(ip) => ip.to_string(),
        None => req.remote_addr().to_string(),
    }
}

/// The `X-Forwarded-For` entry `hops`-th from the right. Proxies append the
/// address they were called from, so the entries left of the ones our `hops`
/// proxies added are whatever the client sent, and rotating them must not
/// escape the per-IP limit. `None` when the header is shorter or the entry
/// is not an IP.
fn forwarded_client(req: &Request, hops: usize) -> Option<IpAddr> {
    let entries: Vec<&str> = req
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|h| h.to_str().ok())
        .flat_map(|h| h.split(','))
        .map(str::trim)
        .collect();
    let entry = entries.len().checked_sub(hops).map(|i| entries[i])?;
    // Some proxies (Azure's) append the port too.
    entry.parse().ok().or_else(|| entry.parse::<SocketAddr>().ok().map(|a| a.ip()))
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

#[cfg(test)]
mod tests {
    use poem::Request;

    use super::forwarded_client;

    fn forwarded(values: &[&str], hops: usize) -> Option<String> {
        let mut req = Request::builder();
        for v in values {
            req = req.header("x-forwarded-for", *v);
        }
        forwarded_client(&req.finish(), hops).map(|ip| ip.to_string())
    }

    #[test]
    fn the_client_is_the_entry_as_far_from_the_right_as_there_are_trusted_proxies() {
        assert_eq!(forwarded(&["6.6.6.6, 203.0.113.7"], 1).as_deref(), Some("203.0.113.7"));
        assert_eq!(forwarded(&["6.6.6.6, 203.0.113.7, 10.0.0.2"], 2).as_deref(), Some("203.0.113.7"));
        assert_eq!(forwarded(&["6.6.6.6", "203.0.113.7"], 1).as_deref(), Some("203.0.113.7"));
        assert_eq!(forwarded(&["[2001:db8::1]:4711"], 1).as_deref(), Some("2001:db8::1"));
    }

    #[test]
    fn a_short_header_or_a_bad_entry_falls_back_to_the_peer() {
        assert_eq!(forwarded(&["203.0.113.7"], 2), None);
        assert_eq!(forwarded(&["6.6.6.6, not-an-ip"], 1), None);
        assert_eq!(forwarded(&[], 1), None);
    }
}
