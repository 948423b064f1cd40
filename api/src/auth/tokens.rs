//! Access tokens (short-lived HS256 JWTs) and refresh tokens (opaque, stored
//! as SHA-256, single use, rotated in families).

use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use poem::web::cookie::{Cookie, CookieJar, SameSite};
use rand::Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::{config::ApiConfig, error::ApiError};

/// The `typ` claim of an access token; anything else is refused.
pub const ACCESS: &str = "access";

/// Claims of an access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: Uuid,
    pub role: String,
    /// Token id, for revocation.
    pub jti: Uuid,
    /// The login (refresh-token family) it belongs to.
    pub fam: Uuid,
    pub typ: String,
    pub iat: i64,
    /// Issue time in milliseconds, compared with a user's not-before mark.
    #[serde(default)]
    pub iat_ms: i64,
    pub exp: i64,
}

/// The signing and verifying keys, with the algorithm pinned to HS256.
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    pub access_ttl: i64,
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JwtKeys([redacted])")
    }
}

impl JwtKeys {
    pub fn new(config: &ApiConfig) -> Self {
        let secret = config.jwt_secret.0.as_bytes();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.leeway = 5;
        validation.set_required_spec_claims(&["exp", "sub", "iat"]);
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            access_ttl: config.access_ttl_secs,
        }
    }

    /// Signs a new access token for `user` in login `family`.
    pub fn issue(&self, user: Uuid, role: &str, family: Uuid) -> Result<(String, Claims), ApiError> {
        let now = chrono::Utc::now();
        let iat = now.timestamp();
        let claims = Claims {
            sub: user,
            role: role.to_owned(),
            jti: Uuid::new_v4(),
            fam: family,
            typ: ACCESS.into(),
            iat,
            iat_ms: now.timestamp_millis(),
            exp: iat + self.access_ttl,
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| ApiError::Internal(format!("jwt encode: {e}")))?;
        Ok((token, claims))
    }

    /// Verifies signature, algorithm, expiry and type.
    pub fn verify(&self, token: &str) -> Result<Claims, ApiError> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|_| ApiError::Unauthorized)?;
        if data.claims.typ != ACCESS {
            return Err(ApiError::Unauthorized);
        }
        Ok(data.claims)
    }
}

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

/// Sets the `access_token` and `refresh_token` cookies.
pub fn set_cookies(jar: &CookieJar, config: &ApiConfig, access: &str, refresh: &str) {
    let mut a = Cookie::new_with_str("access_token", access);
    a.set_http_only(true);
    a.set_secure(config.cookie_secure);
    a.set_same_site(SameSite::Strict);
    a.set_path("/");
    a.set_max_age(std::time::Duration::from_secs(u64::try_from(config.access_ttl_secs).unwrap_or(900)));
    jar.add(a);
    let mut r = Cookie::new_with_str("refresh_token", refresh);
    r.set_http_only(true);
    r.set_secure(config.cookie_secure);
    r.set_same_site(SameSite::Strict);
    r.set_path("/api/v1/auth");
    r.set_max_age(std::time::Duration::from_secs(u64::try_from(config.refresh_ttl_secs).unwrap_or(86_400)));
    jar.add(r);
}

/// Expires both auth cookies.
pub fn clear_cookies(jar: &CookieJar, config: &ApiConfig) {
    for (name, path) in [("access_token", "/"), ("refresh_token", "/api/v1/auth")] {
        let mut c = Cookie::new_with_str(name, "");
        c.set_http_only(true);
        c.set_secure(config.cookie_secure);
        c.set_same_site(SameSite::Strict);
        c.set_path(path);
        c.set_max_age(std::time::Duration::ZERO);
        jar.add(c);
    }
}
