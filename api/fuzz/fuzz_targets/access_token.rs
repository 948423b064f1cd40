//! Access tokens: where a request presents one (`Authorization: Bearer` or the
//! `access_token` cookie) and the JWT check (HS256 only, `typ` = access,
//! required claims, expiry).
//!
//! Modes (first byte): 0 an arbitrary token; 1 arbitrary claims JSON, validly
//! signed with the API's key (so claim parsing and validation are reached);
//! 2 an arbitrary `Authorization` header; 3 an arbitrary `Cookie` header.
//! Checks: no panic; an accepted token is an access token of an unexpired
//! HS256 login; a refusal is 401 `unauthorized`.

#![no_main]

#[path = "common.rs"]
mod common;

use std::sync::OnceLock;

use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey};
use libfuzzer_sys::fuzz_target;
use mindwell_api::{
    auth::{guard::presented_token, tokens::JwtKeys},
    config::{ApiConfig, Secret},
};
use mindwell_shared::config::{Backends, Database, Profile, Queue};
use poem::{Endpoint, EndpointExt, IntoResponse, Request, handler, middleware::CookieJarManager};

const SECRET: &str = "fuzz-jwt-key-0123456789abcdef0123456789abcdef";

fn keys() -> &'static JwtKeys {
    static KEYS: OnceLock<JwtKeys> = OnceLock::new();
    KEYS.get_or_init(|| {
        JwtKeys::new(&ApiConfig {
            backends: Backends {
                profile: Profile::Development,
                database: Database::Sqlite("fuzz.sqlite".into()),
                queue: Queue::Sqlite("fuzz-queue.sqlite".into()),
                namespace: "fuzz".into(),
            },
            bind: "127.0.0.1:0".into(),
            jwt_secret: Secret(SECRET.into()),
            access_ttl_secs: 900,
            refresh_ttl_secs: 3600,
            admin: None,
            rate_auth_per_email: 10,
            rate_auth_per_ip: 100,
            trust_proxy: false,
            bcrypt_cost: 4,
            db_pool: 1,
            cookie_secure: true,
            dashboard_cache: true,
        })
    })
}

fn check_token(token: &str) {
    match keys().verify(token) {
        Ok(claims) => {
            assert_eq!(claims.typ, "access", "accepted a token of type {:?}", claims.typ);
            assert!(claims.exp + 5 >= chrono::Utc::now().timestamp(), "accepted an expired token: {claims:?}");
        }
        Err(e) => {
            let (_, v) = common::error_envelope(e.into_response(), &[401], token.as_bytes());
            assert_eq!(v["error"]["code"], "unauthorized");
        }
    }
}

#[handler]
fn presented(req: &Request) -> String {
    presented_token(req).map(|t| format!("some:{t}")).unwrap_or_else(|| "none".into())
}

fn via_header(name: &str, value: &[u8]) {
    let Ok(value) = poem::http::HeaderValue::from_bytes(value) else { return };
    let req = Request::builder().header(name, value).finish();
    let ep = presented.with(CookieJarManager::new());
    let resp = common::block_on(ep.call(req));
    let Ok(resp) = resp else { return };
    let text = common::block_on(resp.into_body().into_string()).unwrap_or_default();
    if let Some(token) = text.strip_prefix("some:") {
        assert_eq!(token.trim(), token, "a presented token is trimmed");
        check_token(token);
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    match mode % 4 {
        0 => check_token(&String::from_utf8_lossy(rest)),
        1 => {
            let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
            let message = format!("{}.{}", b64.encode(br#"{"alg":"HS256","typ":"JWT"}"#), b64.encode(rest));
            let key = EncodingKey::from_secret(SECRET.as_bytes());
            let Ok(signature) = jsonwebtoken::crypto::sign(message.as_bytes(), &key, Algorithm::HS256) else {
                return;
            };
            check_token(&format!("{message}.{signature}"));
        }
        2 => via_header("authorization", rest),
        _ => via_header("cookie", rest),
    }
});
