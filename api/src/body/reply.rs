//! Success answers in the contract's envelope: `{"ok": true, "data", "error": null}`.

use std::marker::PhantomData;

use poem_openapi::{
    ApiResponse, Object,
    registry::{MetaMediaType, MetaResponse, MetaResponses, Registry},
    types::{ParseFromJSON, ToJSON, Type},
};
use serde_json::Value;

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
