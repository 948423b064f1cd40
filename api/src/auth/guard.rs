//! The one place a request is authenticated: the [`Auth`] extractor.
//!
//! It takes `Authorization: Bearer <access>` or the `access_token` cookie,
//! verifies the JWT (HS256 only, `typ` = access, not expired), then asks the
//! revocation store in one round trip whether the token, its login or its user
//! was revoked. Role checks sit on [`AuthUser`].

use mindwell_shared::domain::Role;
use poem::Request;
use poem_openapi::{
    ApiExtractor, ApiExtractorType, ExtractParamOptions, SecurityScheme,
    auth::{ApiKey, Bearer},
    registry::Registry,
};
use uuid::Uuid;

use super::tokens::keys;
use crate::{error::ApiError, infra::jwt::Claims, state::AppState};

/// The authenticated caller.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub id: Uuid,
    pub role: Role,
    pub claims: Claims,
}

impl AuthUser {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

/// Documents bearer authentication in the OpenAPI document.
#[derive(SecurityScheme)]
#[oai(rename = "bearer", ty = "bearer", bearer_format = "JWT")]
#[expect(dead_code, reason = "only registers the scheme in the OpenAPI document")]
struct BearerScheme(Bearer);

/// Documents cookie authentication in the OpenAPI document.
#[derive(SecurityScheme)]
#[oai(rename = "cookie", ty = "api_key", key_name = "access_token", key_in = "cookie")]
#[expect(dead_code, reason = "only registers the scheme in the OpenAPI document")]
struct CookieScheme(ApiKey);

/// Extracts and checks the caller's access token; 401 `unauthorized` otherwise.
#[derive(Debug, Clone)]
pub struct Auth(pub AuthUser);

/// The raw access token a request presents, if any.
pub fn presented_token(req: &Request) -> Option<String> {
    if let Some(h) = req.headers().get(poem::http::header::AUTHORIZATION).and_then(|h| h.to_str().ok()) {
        let mut parts = h.splitn(2, ' ');
        if let (Some(scheme), Some(token)) = (parts.next(), parts.next())
            && scheme.eq_ignore_ascii_case("bearer")
        {
            return Some(token.trim().to_owned());
        }
        return None;
    }
    req.cookie().get(super::tokens::ACCESS_COOKIE).map(|c| c.value_str().to_owned())
}

/// Verifies `token` and checks it against the revocation store.
pub async fn authenticate(state: &AppState, token: &str) -> Result<AuthUser, ApiError> {
    let claims = state.jwt.verify(token)?;
    // A Redis outage must not stop signed-in users (check-ins keep landing in
    // PostgreSQL): the revocation check fails open, counted and logged. An
    // access token lives minutes; refresh tokens are checked in PostgreSQL.
    let keys = [keys::jti(claims.jti), keys::family(claims.fam), keys::not_before(claims.sub)];
    let revoked =
        crate::infra::kv::or_fail_open("revocation", state.kv.get_many(&keys).await, || vec![None; keys.len()])?;
    if revoked[0].is_some() || revoked[1].is_some() {
        return Err(ApiError::Unauthorized);
    }
    if let Some(nbf) = revoked[2].as_deref().and_then(|v| v.parse::<i64>().ok())
        && claims.iat_ms <= nbf
    {
        return Err(ApiError::Unauthorized);
    }
    // A token names a role this build does not know only if it was forged or
    // made by another deployment: refuse it like any bad token.
    let role = claims.role.parse().map_err(|_| ApiError::Unauthorized)?;
    Ok(AuthUser { id: claims.sub, role, claims })
}

impl<'a> ApiExtractor<'a> for Auth {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::SecurityScheme];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        <BearerScheme as ApiExtractor>::register(registry);
        <CookieScheme as ApiExtractor>::register(registry);
    }

    fn security_schemes() -> Vec<&'static str> {
        vec!["bearer", "cookie"]
    }

    async fn from_request(
        req: &'a Request,
        _body: &mut poem::RequestBody,
        _opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        let state = req.data::<AppState>().ok_or_else(|| ApiError::Internal("state missing".into()))?;
        let token = presented_token(req).ok_or(ApiError::Unauthorized)?;
        Ok(Self(authenticate(state, &token).await?))
    }
}
