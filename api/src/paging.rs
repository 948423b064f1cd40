//! Query parameters shared by list endpoints: `limit`, `cursor`, `range`.

use std::borrow::Cow;

use base64::Engine;
use chrono::{DateTime, Days, Utc};
use chrono_tz::Tz;
use poem_openapi::{
    Object,
    registry::{MetaSchema, MetaSchemaRef},
    types::{ParseFromJSON, ParseFromParameter, ParseResult, ToJSON, Type},
};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Select};
use uuid::Uuid;

use crate::error::ApiError;

/// A page of items and the cursor of the next page (`null` on the last).
#[derive(Debug, Clone, Object)]
pub struct Page<T: ParseFromJSON + ToJSON> {
    pub items: Vec<T>,
    #[oai(nullable)]
    pub next_cursor: Option<String>,
}

/// Orders `query` newest first by `(at, id)`, starts it after `cursor`, and
/// asks for one row more than `limit` (so [`page`] can tell if more follow).
pub fn newest_first<E: EntityTrait>(
    query: Select<E>,
    at: E::Column,
    id: E::Column,
    cursor: Option<Cursor>,
    limit: u64,
) -> Select<E> {
    let query = match cursor {
        Some(c) => {
            query.filter(Condition::any().add(at.lt(c.at)).add(Condition::all().add(at.eq(c.at)).add(id.lt(c.id))))
        }
        None => query,
    };
    query.order_by_desc(at).order_by_desc(id).limit(limit + 1)
}

/// Cuts `rows` (fetched with `limit + 1`) to a page, with the cursor of its
/// last row when more follow.
pub fn page<R, T>(mut rows: Vec<R>, limit: u64, key: impl Fn(&R) -> Cursor) -> Page<T>
where
    T: From<R> + ParseFromJSON + ToJSON,
{
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let more = rows.len() > limit;
    rows.truncate(limit);
    let next_cursor = if more { rows.last().map(|r| key(r).encode()) } else { None };
    Page { items: rows.into_iter().map(Into::into).collect(), next_cursor }
}

/// The `limit` query parameter (`limit: Query<LimitParam>`), documented as an
/// integer from 1 to 100, default 50.
///
/// It is read as text and checked when the handler calls [`LimitParam::get`],
/// not by poem-openapi: a bad value then answers as the contract has it (422
/// `invalid_input` on `limit`) and in the handler's order, after the
/// parameters it checks first.
#[derive(Debug, Clone, Default)]
pub struct LimitParam(Option<String>);

impl LimitParam {
    /// The page size; 422 on `limit` outside 1 to 100.
    pub fn get(&self) -> Result<u64, ApiError> {
        limit(self.0.as_deref())
    }
}

/// The `cursor` query parameter (`cursor: Query<CursorParam>`): the
/// `next_cursor` of the previous page, checked by [`CursorParam::get`].
#[derive(Debug, Clone, Default)]
pub struct CursorParam(Option<String>);

impl CursorParam {
    /// Where the page starts (`None`: the first page); 422 on `cursor` for
    /// anything this API did not give out.
    pub fn get(&self) -> Result<Option<Cursor>, ApiError> {
        Cursor::decode(self.0.as_deref())
    }
}

/// A query parameter kept as its text (the first value when repeated), with
/// the schema `$schema` in the OpenAPI document.
macro_rules! text_param {
    ($param:ident, $name:literal, $schema:expr) => {
        impl Type for $param {
            const IS_REQUIRED: bool = false;
            type RawValueType = Self;
            type RawElementValueType = Self;
            fn name() -> Cow<'static, str> {
                $name.into()
            }
            fn schema_ref() -> MetaSchemaRef {
                MetaSchemaRef::Inline(Box::new($schema))
            }
            fn as_raw_value(&self) -> Option<&Self> {
                Some(self)
            }
            fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self> + 'a> {
                Box::new(self.as_raw_value().into_iter())
            }
        }

        impl ParseFromParameter for $param {
            fn parse_from_parameter(value: &str) -> ParseResult<Self> {
                Ok(Self(Some(value.to_owned())))
            }
            fn parse_from_parameters<I: IntoIterator<Item = A>, A: AsRef<str>>(iter: I) -> ParseResult<Self> {
                Ok(Self(iter.into_iter().next().map(|v| v.as_ref().to_owned())))
            }
        }
    };
}

text_param!(
    LimitParam,
    "limit",
    MetaSchema {
        format: Some("int64"),
        description: Some("Items per page."),
        minimum: Some(1.0),
        maximum: Some(100.0),
        default: Some(50.into()),
        ..MetaSchema::new("integer")
    }
);
text_param!(
    CursorParam,
    "cursor",
    MetaSchema {
        description: Some("The `next_cursor` of the previous page; none for the first page."),
        ..MetaSchema::new("string")
    }
);

/// `limit`: 1 to 100, default 50.
fn limit(raw: Option<&str>) -> Result<u64, ApiError> {
    match raw {
        None => Ok(50),
        Some(s) => match s.trim().parse::<u64>() {
            Ok(n @ 1..=100) => Ok(n),
            _ => Err(ApiError::field("limit", "must be an integer between 1 and 100")),
        },
    }
}

/// `range`: `Nd` with N from 1 to 365, default 30.
pub fn range_days(raw: Option<&str>) -> Result<u32, ApiError> {
    let Some(s) = raw else { return Ok(30) };
    s.trim()
        .strip_suffix('d')
        .and_then(|n| n.parse::<u32>().ok())
        .filter(|n| (1..=365).contains(n))
        .ok_or_else(|| ApiError::field("range", "must look like 7d, 30d or 90d (1d to 365d)"))
}

/// A user's time zone, UTC when unknown.
pub use mindwell_shared::time::tz;

/// The first instant of the range: local midnight `days - 1` days before today.
pub fn range_start(tz: Tz, days: u32, now: DateTime<Utc>) -> DateTime<Utc> {
    let today = now.with_timezone(&tz).date_naive();
    let first = today.checked_sub_days(Days::new(u64::from(days.saturating_sub(1)))).unwrap_or(today);
    mindwell_shared::time::local_midnight(tz, first)
}

/// A keyset cursor: the sort key of the last item seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub at: DateTime<Utc>,
    pub id: Uuid,
}

impl Cursor {
    /// Opaque, URL-safe form.
    pub fn encode(&self) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{}|{}", self.at.timestamp_micros(), self.id))
    }

    /// Parses `cursor`; anything else is 422 on `cursor`.
    pub fn decode(raw: Option<&str>) -> Result<Option<Self>, ApiError> {
        let Some(raw) = raw.filter(|s| !s.is_empty()) else {
            return Ok(None);
        };
        let bad = || ApiError::field("cursor", "is not a cursor this API gave out");
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(raw).map_err(|_| bad())?;
        let text = String::from_utf8(bytes).map_err(|_| bad())?;
        let (micros, id) = text.split_once('|').ok_or_else(bad)?;
        let at = micros.parse::<i64>().ok().and_then(DateTime::from_timestamp_micros).ok_or_else(bad)?;
        let id = Uuid::parse_str(id).map_err(|_| bad())?;
        Ok(Some(Self { at, id }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_is_n_local_days_including_today() {
        let now = "2026-11-22T03:00:00Z".parse::<DateTime<Utc>>().unwrap_or_default();
        assert_eq!(range_start(Tz::UTC, 1, now).to_rfc3339(), "2026-11-22T00:00:00+00:00");
        assert_eq!(range_start(Tz::UTC, 7, now).to_rfc3339(), "2026-11-16T00:00:00+00:00");
        // 03:00 UTC is 08:30 in Kolkata: today there began at 18:30 UTC the day before.
        assert_eq!(range_start(tz("Asia/Kolkata"), 1, now).to_rfc3339(), "2026-11-21T18:30:00+00:00");
    }

    #[test]
    fn ranges_and_limits_outside_the_contract_are_rejected() {
        assert_eq!(range_days(None).ok(), Some(30));
        assert_eq!(range_days(Some("365d")).ok(), Some(365));
        for bad in ["0d", "366d", "7", "d", "7w", "-1d"] {
            assert!(range_days(Some(bad)).is_err(), "{bad}");
        }
        assert_eq!(limit(None).ok(), Some(50));
        assert!(limit(Some("0")).is_err());
        assert!(limit(Some("101")).is_err());
    }

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let c = Cursor {
            at: DateTime::from_timestamp_micros(1_700_000_000_123_456).unwrap_or_default(),
            id: Uuid::now_v7(),
        };
        assert_eq!(Cursor::decode(Some(&c.encode())).ok().flatten(), Some(c));
        assert!(Cursor::decode(Some("nope")).is_err());
    }
}
