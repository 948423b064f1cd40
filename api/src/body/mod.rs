//! JSON request bodies with per-field errors ([`fields`]), and the success
//! envelope the answers are written in ([`reply`]).
//!
//! poem-openapi's own JSON parsing reports one error without a field name, so a
//! request type keeps its `Object` derive for the OpenAPI schema and implements
//! [`FromJson`] to parse itself, collecting every bad field at once.

pub mod fields;
pub mod reply;

use poem::{Request, RequestBody};
use poem_openapi::{
    ApiExtractor, ApiExtractorType, ExtractParamOptions,
    registry::{MetaMediaType, MetaRequest, MetaSchemaRef, Registry},
    types::Type,
};
use serde_json::Value;

pub use self::{
    fields::Fields,
    reply::{Envelope, RawReply, Reply, accepted, created, ok},
};
use crate::error::{ApiError, FieldErrors};

/// The default body limit, 64 KiB.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A type that parses itself from a JSON object, naming every bad field.
pub trait FromJson: Sized {
    fn from_json(fields: &mut Fields<'_>) -> Option<Self>;
}

/// A JSON request body of type `T`, parsed with [`FromJson`]. With `OPTIONAL`,
/// an empty body reads as `{}`.
#[derive(Debug)]
pub struct JsonBody<T, const OPTIONAL: bool> {
    pub value: T,
    /// The body's bytes, for idempotency hashing.
    pub raw: Vec<u8>,
}

/// A required JSON body.
pub type Body<T> = JsonBody<T, false>;
/// A JSON body that may be left out.
pub type OptionalBody<T> = JsonBody<T, true>;

impl<T: Type + FromJson, const OPTIONAL: bool> poem_openapi::payload::Payload for JsonBody<T, OPTIONAL> {
    const CONTENT_TYPE: &'static str = "application/json; charset=utf-8";
    fn check_content_type(_: &str) -> bool {
        true
    }
    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }
    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<'a, T: Type + FromJson + Send, const OPTIONAL: bool> ApiExtractor<'a> for JsonBody<T, OPTIONAL> {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::RequestObject];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        T::register(registry);
    }

    fn request_meta() -> Option<MetaRequest> {
        Some(MetaRequest {
            description: None,
            content: vec![MetaMediaType { content_type: "application/json; charset=utf-8", schema: T::schema_ref() }],
            required: !OPTIONAL,
        })
    }

    /// Any content type (or none) is read as JSON: a wrong one fails as
    /// malformed JSON (422) rather than 415, as the contract has it.
    async fn from_request(
        _request: &'a Request,
        body: &mut RequestBody,
        _opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        let raw = read_limited(body).await?;
        let value =
            if OPTIONAL && raw.iter().all(u8::is_ascii_whitespace) { parse::<T>(b"{}")? } else { parse::<T>(&raw)? };
        Ok(Self { value, raw })
    }
}

/// Reads the body, refusing it (413) past [`MAX_BODY_BYTES`] without reading on.
async fn read_limited(body: &mut RequestBody) -> Result<Vec<u8>, ApiError> {
    use tokio::io::AsyncReadExt;
    let limit = u64::try_from(MAX_BODY_BYTES).unwrap_or(u64::MAX);
    let reader = body.take().map_err(|e| ApiError::field("body", e.to_string()))?.into_async_read();
    let mut raw = Vec::new();
    reader
        .take(limit + 1)
        .read_to_end(&mut raw)
        .await
        .map_err(|e| ApiError::field("body", format!("could not read the body: {e}")))?;
    if raw.len() > MAX_BODY_BYTES {
        return Err(ApiError::PayloadTooLarge(MAX_BODY_BYTES));
    }
    Ok(raw)
}

fn parse<T: FromJson>(raw: &[u8]) -> Result<T, ApiError> {
    let json: Value =
        serde_json::from_slice(raw).map_err(|e| ApiError::field("body", format!("malformed JSON: {e}")))?;
    let Value::Object(obj) = json else {
        return Err(ApiError::field("body", "must be a JSON object"));
    };
    let mut fields = Fields::new(&obj);
    let value = T::from_json(&mut fields);
    let errors: FieldErrors = fields.into_errors();
    match value {
        Some(v) if errors.is_empty() => Ok(v),
        _ => Err(ApiError::InvalidInput(errors)),
    }
}

/// Gives a parsed request type the OpenAPI schema of its documented twin:
/// `schema_as!(Signup, SignupRequest)`.
macro_rules! schema_as {
    ($parsed:ty, $doc:ty) => {
        impl poem_openapi::types::Type for $parsed {
            const IS_REQUIRED: bool = true;
            type RawValueType = Self;
            type RawElementValueType = Self;
            fn name() -> std::borrow::Cow<'static, str> {
                <$doc as poem_openapi::types::Type>::name()
            }
            fn schema_ref() -> poem_openapi::registry::MetaSchemaRef {
                <$doc as poem_openapi::types::Type>::schema_ref()
            }
            fn register(registry: &mut poem_openapi::registry::Registry) {
                <$doc as poem_openapi::types::Type>::register(registry);
            }
            fn as_raw_value(&self) -> Option<&Self> {
                Some(self)
            }
            fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self> + 'a> {
                Box::new(self.as_raw_value().into_iter())
            }
        }
    };
}
pub(crate) use schema_as;
