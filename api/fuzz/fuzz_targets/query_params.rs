//! Query and path parameters parsed by hand: the keyset `cursor`, `limit`,
//! `range` (with the range's first instant in any time zone), path ids and
//! request times.
//!
//! Checks: no panic; a cursor that decodes re-encodes to URL-safe text that
//! decodes to the same cursor; accepted values lie within the contract's
//! bounds; every refusal is a 422 naming the parameter (404 for path ids).

#![no_main]

#[path = "common.rs"]
mod common;

use chrono::{DateTime, Utc};
use libfuzzer_sys::fuzz_target;
use mindwell_api::{
    paging::{self, Cursor},
    types::{Time, path_id},
};
use poem::IntoResponse;
use poem_openapi::types::{ParseFromJSON, ToJSON};
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    // 8 bytes of "now", then the parameter text; a '\n' splits off a time zone name.
    if data.len() < 8 {
        return;
    }
    let secs = i64::from_le_bytes(data[..8].try_into().unwrap_or_default()).rem_euclid(10_000_000_000);
    let now: DateTime<Utc> = DateTime::from_timestamp(secs, 0).unwrap_or_default();
    let text = String::from_utf8_lossy(&data[8..]);
    let (value, tz_name) = text.split_once('\n').unwrap_or((&text, "UTC"));

    match Cursor::decode(Some(value)) {
        Ok(Some(c)) => {
            let encoded = c.encode();
            assert!(encoded.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "{encoded}");
            assert_eq!(Cursor::decode(Some(&encoded)).ok().flatten(), Some(c), "cursor round trip of {value:?}");
        }
        Ok(None) => assert!(value.is_empty()),
        Err(e) => {
            let (_, v) = common::error_envelope(e.into_response(), &[422], value.as_bytes());
            assert!(v["error"]["details"]["fields"]["cursor"].is_string(), "{v}");
        }
    }

    match paging::limit(Some(value)) {
        Ok(n) => assert!((1..=100).contains(&n), "limit {n} from {value:?}"),
        Err(e) => {
            let (_, v) = common::error_envelope(e.into_response(), &[422], value.as_bytes());
            assert!(v["error"]["details"]["fields"]["limit"].is_string(), "{v}");
        }
    }

    match paging::range_days(Some(value)) {
        Ok(days) => {
            assert!((1..=365).contains(&days), "range {days} from {value:?}");
            let tz = paging::tz(tz_name);
            let start = paging::range_start(tz, days, now);
            assert!(start <= now, "range {days}d in {tz_name}: starts {start} after now {now}");
            assert!(
                now - start <= chrono::Duration::days(i64::from(days) + 2),
                "range {days}d starts {start}, now {now}"
            );
        }
        Err(e) => {
            let (_, v) = common::error_envelope(e.into_response(), &[422], value.as_bytes());
            assert!(v["error"]["details"]["fields"]["range"].is_string(), "{v}");
        }
    }

    if let Err(e) = path_id(value) {
        common::error_envelope(e.into_response(), &[404], value.as_bytes());
    }

    if let Ok(t) = Time::parse_from_json(Some(Value::String(value.to_owned()))) {
        let again = t.to_json().and_then(|j| Time::parse_from_json(Some(j)).ok());
        assert_eq!(again.map(|a| a.0), Some(t.0), "time round trip of {value:?}");
    }
});
