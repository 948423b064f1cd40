//! Shared by the fuzz targets: one current-thread runtime, and the checks of
//! an error answer's envelope.

#![allow(dead_code)]

use std::sync::OnceLock;

use poem::{Response, http::StatusCode};
use serde_json::Value;

/// A runtime for the async extractors (their bodies are in memory: no I/O).
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| tokio::runtime::Builder::new_current_thread().build().expect("runtime")).block_on(f)
}

/// Checks that `resp` (an error rendered) is the contract's error envelope
/// with one of `statuses`; returns the status and the parsed body.
pub fn error_envelope(resp: Response, statuses: &[u16], input: &[u8]) -> (StatusCode, Value) {
    let status = resp.status();
    assert!(
        statuses.contains(&status.as_u16()),
        "status {status} (expected one of {statuses:?}) for input {:?}",
        String::from_utf8_lossy(input)
    );
    let body = block_on(resp.into_body().into_vec()).expect("error body");
    let v: Value = serde_json::from_slice(&body).expect("the error body is JSON");
    assert_eq!(v["ok"], Value::Bool(false), "envelope ok=false: {v}");
    assert!(v["data"].is_null(), "envelope data=null: {v}");
    assert!(v["error"]["code"].is_string() && v["error"]["message"].is_string(), "error code and message: {v}");
    (status, v)
}

/// A 422 names at least one bad field, as the contract says.
pub fn names_fields(v: &Value, input: &[u8]) {
    assert_eq!(v["error"]["code"], "invalid_input", "{v}");
    let fields = v["error"]["details"]["fields"].as_object().expect("details.fields is an object");
    assert!(!fields.is_empty(), "422 without a named field for input {:?}: {v}", String::from_utf8_lossy(input));
}
