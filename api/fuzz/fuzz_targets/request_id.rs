//! `X-Request-Id`: echoed when the client's is sane (1 to 128 visible ASCII
//! characters), replaced by a fresh UUID otherwise, on every response.

#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use mindwell_api::request_id::{RequestId, RequestIdLayer};
use poem::{Endpoint, EndpointExt, Request, handler, web::Data};

#[handler]
fn echo(id: Data<&RequestId>) -> String {
    id.0.0.clone()
}

fuzz_target!(|data: &[u8]| {
    let Ok(value) = poem::http::HeaderValue::from_bytes(data) else { return };
    let req = Request::builder().header("x-request-id", value).finish();
    let ep = echo.with(RequestIdLayer);
    let resp = common::block_on(ep.call(req)).expect("the layer always answers");
    let header = resp.headers().get("x-request-id").expect("x-request-id on every response").clone();
    let seen = common::block_on(resp.into_body().into_string()).expect("body");
    assert_eq!(header.to_str().ok(), Some(seen.as_str()), "the handler and the response carry the same id");
    let sane = (1..=128).contains(&data.len()) && data.iter().all(u8::is_ascii_graphic);
    if sane {
        assert_eq!(seen.as_bytes(), data, "a sane id is echoed");
    } else {
        assert!(uuid::Uuid::parse_str(&seen).is_ok(), "an unusable id is replaced by a UUID, got {seen:?}");
    }
});
