//! Check-in values that cannot exist unless valid.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value};

/// Mood, 1 to 10.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mood(i16);

impl Mood {
    pub fn parse(n: i64) -> Result<Self, &'static str> {
        match i16::try_from(n) {
            Ok(m @ 1..=10) => Ok(Self(m)),
            _ => Err("must be between 1 and 10"),
        }
    }
    pub fn get(self) -> i16 {
        self.0
    }
}

/// Hours of sleep, 0 to 24.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SleepHours(f64);

impl SleepHours {
    pub fn parse(h: f64) -> Result<Self, &'static str> {
        if h.is_finite() && (0.0..=24.0).contains(&h) { Ok(Self(h)) } else { Err("must be between 0 and 24") }
    }
    pub fn get(self) -> f64 {
        self.0
    }
}

/// Free-text notes, at most 4000 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteText(String);

impl NoteText {
    pub const MAX_CHARS: usize = 4000;
    pub fn parse(s: String) -> Result<Self, &'static str> {
        if s.chars().count() > Self::MAX_CHARS {
            Err("must be at most 4000 characters")
        } else if s.contains('\0') {
            Err("must not contain NUL characters")
        } else {
            Ok(Self(s))
        }
    }
    pub fn into_inner(self) -> String {
        self.0
    }
}

/// When the check-in happened: not more than 5 minutes in the future.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckinTime(DateTime<Utc>);

impl CheckinTime {
    pub fn parse(raw: &str, now: DateTime<Utc>) -> Result<Self, &'static str> {
        let t = DateTime::parse_from_rfc3339(raw)
            .map_err(|_| "must be an RFC 3339 time, e.g. 2026-11-22T08:30:00Z")?
            .with_timezone(&Utc);
        let t = DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap_or(t);
        if t > now + Duration::minutes(5) {
            Err("must not be more than 5 minutes in the future")
        } else if t.timestamp() < 0 {
            Err("must not be before 1970")
        } else {
            Ok(Self(t))
        }
    }
    pub fn get(self) -> DateTime<Utc> {
        self.0
    }
}

/// Client metadata: a JSON object of at most 8 KiB, nested at most
/// [`Meta::MAX_DEPTH`] deep, that PostgreSQL's `jsonb` stores and gives back
/// unchanged: no NUL in keys or strings, no number beyond ±1e300 (a larger
/// one is stored as a decimal that cannot be read back as a double).
#[derive(Debug, Clone, PartialEq)]
pub struct Meta(Map<String, Value>);

impl Meta {
    pub const MAX_BYTES: usize = 8 * 1024;
    pub const MAX_DEPTH: usize = 32;
    pub const MAX_NUMBER: f64 = 1e300;

    pub fn parse(m: Map<String, Value>) -> Result<Self, &'static str> {
        let size = serde_json::to_vec(&m).map_or(usize::MAX, |v| v.len());
        if size > Self::MAX_BYTES {
            return Err("must be at most 8 KiB of JSON");
        }
        for (k, v) in &m {
            if k.contains('\0') {
                return Err("must not contain NUL characters");
            }
            Self::check(v, 1)?;
        }
        Ok(Self(m))
    }

    fn check(v: &Value, depth: usize) -> Result<(), &'static str> {
        if depth > Self::MAX_DEPTH {
            return Err("must be nested at most 32 levels deep");
        }
        match v {
            Value::String(s) if s.contains('\0') => Err("must not contain NUL characters"),
            Value::Number(n) => match n.as_f64() {
                Some(f)
                    if f.is_finite()
                        && f.abs() <= Self::MAX_NUMBER
                        && (f == 0.0 || f.abs() >= 1.0 / Self::MAX_NUMBER) =>
                {
                    Ok(())
                }
                _ => Err("numbers must lie between -1e300 and 1e300, and be 0 or at least 1e-300 in size"),
            },
            Value::Array(items) => items.iter().try_for_each(|i| Self::check(i, depth + 1)),
            Value::Object(map) => map.iter().try_for_each(|(k, i)| {
                if k.contains('\0') { Err("must not contain NUL characters") } else { Self::check(i, depth + 1) }
            }),
            _ => Ok(()),
        }
    }
    pub fn into_value(self) -> Value {
        Value::Object(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_are_inclusive() {
        assert!(Mood::parse(1).is_ok() && Mood::parse(10).is_ok());
        assert!(Mood::parse(0).is_err() && Mood::parse(11).is_err() && Mood::parse(70_000).is_err());
        assert!(SleepHours::parse(0.0).is_ok() && SleepHours::parse(24.0).is_ok());
        assert!(
            SleepHours::parse(-0.1).is_err()
                && SleepHours::parse(24.01).is_err()
                && SleepHours::parse(f64::NAN).is_err()
        );
        assert!(NoteText::parse("é".repeat(4000)).is_ok());
        assert!(NoteText::parse("a".repeat(4001)).is_err());
    }

    #[test]
    fn meta_refuses_what_jsonb_cannot_give_back() {
        let meta = |v: Value| Meta::parse(v.as_object().cloned().expect("an object"));
        assert!(meta(serde_json::json!({"app": "ios", "n": [1, 2.5, -1e299, {"deep": 1e-299}], "z": 0})).is_ok());
        assert!(meta(serde_json::json!({"n": 1.797_693_134_862_315_7e308})).is_err());
        assert!(meta(serde_json::json!({"n": [-1e301]})).is_err());
        assert!(meta(serde_json::json!({"n": 5e-324})).is_err());
        assert!(meta(serde_json::json!({"a\u{0}b": 1})).is_err());
        assert!(meta(serde_json::json!({"a": {"b": "x\u{0}"}})).is_err());
        let mut deep = serde_json::json!(1);
        for _ in 0..40 {
            deep = serde_json::json!([deep]);
        }
        assert!(meta(serde_json::json!({ "d": deep })).is_err());
    }

    #[test]
    fn times_may_carry_an_offset_but_not_run_ahead() {
        let now = Utc::now();
        let t = CheckinTime::parse("2026-01-01T10:00:00+05:30", now).map(CheckinTime::get);
        assert_eq!(t.map(|t| t.to_rfc3339()), Ok("2026-01-01T04:30:00+00:00".into()));
        let soon = (now + Duration::minutes(4)).to_rfc3339();
        let late = (now + Duration::minutes(6)).to_rfc3339();
        assert!(CheckinTime::parse(&soon, now).is_ok());
        assert!(CheckinTime::parse(&late, now).is_err());
        assert!(CheckinTime::parse("yesterday", now).is_err());
    }
}
