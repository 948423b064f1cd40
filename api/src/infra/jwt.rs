//! Access tokens: short-lived HS256 JWTs, signed and verified with the
//! deployment's secret (`MINDWELL_JWT_SECRET`).

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    config::ApiConfig,
    error::{ApiError, failure},
};

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
        let secret = config.jwt_secret.expose().as_bytes();
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
            .map_err(|e| ApiError::Internal(failure("jwt encode", e)))?;
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
