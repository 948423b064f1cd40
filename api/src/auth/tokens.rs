//! Refresh tokens (opaque, stored as SHA-256, single use, rotated in
//! families), the revocation keys and the auth cookies. Access tokens (JWTs)
//! are signed by `crate::infra::jwt`.

use base64::Engine;
use poem::web::cookie::{Cookie, CookieJar, SameSite};
use rand::Rng;
use sha2::{Digest, Sha256};

use crate::config::ApiConfig;

/// A new random refresh token: 32 bytes, base64url.
pub fn new_refresh_token() -> String {
    let bytes: [u8; 32] = rand::rng().random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// What is stored of a refresh token.
pub fn hash_refresh_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Redis keys of the revocation lists.
pub mod keys {
    use uuid::Uuid;

    /// A revoked access token.
    pub fn jti(jti: Uuid) -> String {
        format!("revoked:jti:{jti}")
    }
    /// A revoked login: every access token of the family.
    pub fn family(family: Uuid) -> String {
        format!("revoked:fam:{family}")
    }
    /// Tokens of this user issued at or before the stored millisecond are dead.
    pub fn not_before(user: Uuid) -> String {
        format!("user:nbf:{user}")
    }
}

/// The cookie carrying the access token, sent on every path.
pub const ACCESS_COOKIE: &str = "access_token";
/// The cookie carrying the refresh token, sent under `/api/v1/auth` only.
pub const REFRESH_COOKIE: &str = "refresh_token";

/// Sets the [`ACCESS_COOKIE`] and [`REFRESH_COOKIE`] cookies.
pub fn set_cookies(jar: &CookieJar, config: &ApiConfig, access: &str, refresh: &str) {
    let mut a = Cookie::new_with_str(ACCESS_COOKIE, access);
    a.set_http_only(true);
    a.set_secure(config.cookie_secure);
    a.set_same_site(SameSite::Strict);
    a.set_path("/");
    a.set_max_age(std::time::Duration::from_secs(u64::try_from(config.access_ttl_secs).unwrap_or(900)));
    jar.add(a);
    let mut r = Cookie::new_with_str(REFRESH_COOKIE, refresh);
    r.set_http_only(true);
    r.set_secure(config.cookie_secure);
    r.set_same_site(SameSite::Strict);
    r.set_path("/api/v1/auth");
    r.set_max_age(std::time::Duration::from_secs(u64::try_from(config.refresh_ttl_secs).unwrap_or(86_400)));
    jar.add(r);
}

/// Expires both auth cookies.
pub fn clear_cookies(jar: &CookieJar, config: &ApiConfig) {
    for (name, path) in [(ACCESS_COOKIE, "/"), (REFRESH_COOKIE, "/api/v1/auth")] {
        let mut c = Cookie::new_with_str(name, "");
        c.set_http_only(true);
        c.set_secure(config.cookie_secure);
        c.set_same_site(SameSite::Strict);
        c.set_path(path);
        c.set_max_age(std::time::Duration::ZERO);
        jar.add(c);
    }
}
