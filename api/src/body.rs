//! JSON request bodies with per-field errors, and the success envelope.
//!
//! poem-openapi's own JSON parsing reports one error without a field name, so a
//! request type keeps its `Object` derive for the OpenAPI schema and implements
//! [`FromJson`] to parse itself, collecting every bad field at once.

use std::marker::PhantomData;

use poem::{Request, RequestBody};
use poem_openapi::{
    ApiExtractor, ApiExtractorType, ApiResponse, ExtractParamOptions, Object,
    registry::{MetaMediaType, MetaRequest, MetaResponse, MetaResponses, MetaSchemaRef, Registry},
    types::{ParseFromJSON, ToJSON, Type},
};
use serde_json::{Map, Value};

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
    let mut fields = Fields { obj: &obj, errors: FieldErrors::new() };
    let value = T::from_json(&mut fields);
    match value {
        Some(v) if fields.errors.is_empty() => Ok(v),
        _ => Err(ApiError::InvalidInput(fields.errors)),
    }
}

/// Reads typed fields out of a JSON object, recording every error.
#[derive(Debug)]
pub struct Fields<'a> {
    obj: &'a Map<String, Value>,
    errors: FieldErrors,
}

impl Fields<'_> {
    /// Records an error for `name`.
    pub fn error(&mut self, name: &str, reason: impl Into<String>) {
        self.errors.entry(name.to_owned()).or_insert_with(|| reason.into());
    }

    fn get(&self, name: &str) -> Option<Value> {
        self.obj.get(name).filter(|v| !v.is_null()).cloned()
    }

    /// A required string.
    pub fn string(&mut self, name: &str) -> Option<String> {
        match self.get(name) {
            None => {
                self.error(name, "is required");
                None
            }
            Some(v) => self.as_string(name, &v),
        }
    }

    /// An optional string (absent or null: `None`).
    pub fn opt_string(&mut self, name: &str) -> Option<Option<String>> {
        match self.get(name) {
            None => Some(None),
            Some(v) => self.as_string(name, &v).map(Some),
        }
    }

    /// PostgreSQL text cannot hold NUL, so no string field may carry one.
    fn as_string(&mut self, name: &str, v: &Value) -> Option<String> {
        match v.as_str() {
            Some(s) if s.contains('\0') => {
                self.error(name, "must not contain NUL characters");
                None
            }
            Some(s) => Some(s.to_owned()),
            None => {
                self.error(name, "must be a string");
                None
            }
        }
    }

    /// A required integer.
    pub fn int(&mut self, name: &str) -> Option<i64> {
        match self.get(name) {
            None => {
                self.error(name, "is required");
                None
            }
            Some(v) => {
                let n = v.as_i64().or_else(|| {
                    v.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 9e15).map(|f| {
                        #[expect(clippy::cast_possible_truncation, reason = "checked: a whole number in range")]
                        let n = f as i64;
                        n
                    })
                });
                if n.is_none() {
                    self.error(name, "must be an integer");
                }
                n
            }
        }
    }

    /// A required number.
    pub fn number(&mut self, name: &str) -> Option<f64> {
        match self.get(name) {
            None => {
                self.error(name, "is required");
                None
            }
            Some(v) => {
                let n = v.as_f64();
                if n.is_none() {
                    self.error(name, "must be a number");
                }
                n
            }
        }
    }

    /// An optional boolean.
    pub fn opt_bool(&mut self, name: &str) -> Option<Option<bool>> {
        match self.get(name) {
            None => Some(None),
            Some(Value::Bool(b)) => Some(Some(b)),
            Some(_) => {
                self.error(name, "must be true or false");
                None
            }
        }
    }

    /// An optional JSON object.
    pub fn opt_object(&mut self, name: &str) -> Option<Option<Map<String, Value>>> {
        match self.get(name) {
            None => Some(None),
            Some(Value::Object(m)) => Some(Some(m)),
            Some(_) => {
                self.error(name, "must be an object");
                None
            }
        }
    }

    /// The raw value of an optional field.
    pub fn raw(&self, name: &str) -> Option<Value> {
        self.get(name)
    }
}

/// The success envelope: `{"ok": true, "data": T, "error": null}`.
#[derive(Debug, Clone, Object)]
pub struct Envelope<T: ParseFromJSON + ToJSON> {
    pub ok: bool,
    pub data: T,
    #[oai(nullable)]
    pub error: Option<Value>,
}

/// A success answer with status `S` and payload `T`, in the envelope.
#[derive(Debug)]
pub struct Reply<T, const S: u16 = 200>(pub T, PhantomData<()>);

/// 200 with `data`.
pub fn ok<T>(data: T) -> Reply<T, 200> {
    Reply(data, PhantomData)
}

/// 201 with `data`.
pub fn created<T>(data: T) -> Reply<T, 201> {
    Reply(data, PhantomData)
}

/// 202 with `data`.
pub fn accepted<T>(data: T) -> Reply<T, 202> {
    Reply(data, PhantomData)
}

impl<T, const S: u16> Reply<T, S> {
    /// Same payload, another status.
    pub fn with_status<const N: u16>(self) -> Reply<T, N> {
        Reply(self.0, PhantomData)
    }
}

impl<T: ParseFromJSON + ToJSON + Send, const S: u16> poem::IntoResponse for Reply<T, S> {
    fn into_response(self) -> poem::Response {
        let status = poem::http::StatusCode::from_u16(S).unwrap_or(poem::http::StatusCode::OK);
        let body = Envelope { ok: true, data: self.0, error: None };
        poem::IntoResponse::with_status(poem::web::Json(body.to_json()), status).into_response()
    }
}

impl<T: ParseFromJSON + ToJSON + Send, const S: u16> ApiResponse for Reply<T, S> {
    fn meta() -> MetaResponses {
        MetaResponses {
            responses: vec![MetaResponse {
                description: "success, in the envelope",
                status: Some(S),
                status_range: None,
                content: vec![MetaMediaType {
                    content_type: "application/json; charset=utf-8",
                    schema: Envelope::<T>::schema_ref(),
                }],
                headers: vec![],
            }],
        }
    }
    fn register(registry: &mut Registry) {
        Envelope::<T>::register(registry);
    }
}

/// A 200 answer whose `data` is JSON already serialised (a cached payload):
/// documented as `Envelope<T>`, written without parsing it again.
#[derive(Debug)]
pub struct RawReply<T>(pub String, PhantomData<T>);

impl<T> RawReply<T> {
    /// `json` must be the serialised form of a `T`.
    pub fn new(json: String) -> Self {
        Self(json, PhantomData)
    }
}

impl<T: ParseFromJSON + ToJSON + Send> poem::IntoResponse for RawReply<T> {
    fn into_response(self) -> poem::Response {
        let mut body = String::with_capacity(self.0.len() + 40);
        body.push_str(r#"{"ok":true,"data":"#);
        body.push_str(&self.0);
        body.push_str(r#","error":null}"#);
        poem::Response::builder().content_type("application/json; charset=utf-8").body(body)
    }
}

impl<T: ParseFromJSON + ToJSON + Send> ApiResponse for RawReply<T> {
    fn meta() -> MetaResponses {
        Reply::<T, 200>::meta()
    }
    fn register(registry: &mut Registry) {
        Reply::<T, 200>::register(registry);
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
