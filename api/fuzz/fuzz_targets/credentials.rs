//! Emails and passwords: `Email::parse` (trimmed, lower-cased, a plausible
//! address) and `Password::parse` (8 to 128 characters).
//!
//! Checks: no panic; a parsed email parses again to itself, has no white space
//! or control characters, one '@', at most 254 bytes; password bounds hold.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mindwell_api::auth::password::{Email, Password};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(email) = Email::parse(text) {
        let s = email.as_str();
        assert_eq!(Email::parse(s).ok().as_ref().map(Email::as_str), Some(s), "email parse is idempotent");
        assert_eq!(s, s.to_lowercase());
        assert!(s.len() <= 254 && s.matches('@').count() == 1, "{s:?}");
        assert!(!s.chars().any(|c| c.is_whitespace() || c.is_control()), "{s:?}");
    }
    let n = text.chars().count();
    assert_eq!(Password::parse(text.to_owned()).is_ok(), (8..=128).contains(&n), "password of {n} characters");
});
