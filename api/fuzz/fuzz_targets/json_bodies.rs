//! Request bodies: every type the API parses field by field (`body::FromJson`),
//! through the real extractor (`body::JsonBody`, any content type, 64 KiB limit).
//!
//! Checks: no panic; a refusal is 422 `invalid_input` naming at least one field,
//! or 413 `payload_too_large`, in the error envelope (never a 500); an accepted
//! body is kept byte for byte (it is hashed for `Idempotency-Key`).

#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use mindwell_api::{
    admin::UserUpdate,
    alerts::AlertUpdate,
    auth::{Login, RefreshRequest, Signup},
    body::{FromJson, JsonBody, MAX_BODY_BYTES},
    checkins::NewCheckin,
    me::{consents::ConsentRequest, settings::SettingsUpdate},
};
use poem::{Request, http::Method};
use poem_openapi::{ApiExtractor, ExtractParamOptions, types::Type};

fn run<T, const OPTIONAL: bool>(raw: &[u8], content_type: Option<&str>)
where
    T: Type + FromJson + Send + std::fmt::Debug,
{
    let mut builder = Request::builder().method(Method::POST).uri_str("/api/v1/x");
    if let Some(ct) = content_type {
        builder = builder.header("content-type", ct);
    }
    let (req, mut body) = builder.body(raw.to_vec()).split();
    let result = common::block_on(<JsonBody<T, OPTIONAL> as ApiExtractor>::from_request(
        &req,
        &mut body,
        ExtractParamOptions::default(),
    ));
    match result {
        Ok(parsed) => {
            assert_eq!(parsed.raw, raw, "the raw body is kept as sent");
            assert!(raw.len() <= MAX_BODY_BYTES, "a body over the limit was accepted");
        }
        Err(e) => {
            let (status, v) = common::error_envelope(e.into_response(), &[413, 422], raw);
            if status.as_u16() == 422 {
                common::names_fields(&v, raw);
            } else {
                assert!(raw.len() > MAX_BODY_BYTES, "413 for a body within the limit");
                assert_eq!(v["error"]["code"], "payload_too_large");
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    // The high bit pads the body past the 64 KiB limit (leading white space is
    // valid JSON), so the limit is exercised without huge inputs.
    let padded;
    let raw = if selector & 0x80 != 0 {
        padded = [vec![b' '; MAX_BODY_BYTES + 1 - rest.len().min(MAX_BODY_BYTES)], rest.to_vec()].concat();
        &padded[..]
    } else {
        rest
    };
    let ct = match (selector >> 4) & 0x3 {
        0 => Some("application/json"),
        1 => None,
        2 => Some("text/plain"),
        _ => Some("application/json; charset=utf-8"),
    };
    match selector & 0x0f {
        0 | 9 | 10 => run::<NewCheckin, false>(raw, ct),
        1 => run::<Signup, false>(raw, ct),
        2 => run::<Login, false>(raw, ct),
        3 => run::<RefreshRequest, true>(raw, ct),
        4 => run::<SettingsUpdate, false>(raw, ct),
        5 => run::<ConsentRequest, false>(raw, ct),
        6 => run::<AlertUpdate, false>(raw, ct),
        7 => run::<UserUpdate, false>(raw, ct),
        8 => run::<RefreshRequest, true>(raw, ct),
        _ => run::<Signup, false>(raw, ct),
    }
});
