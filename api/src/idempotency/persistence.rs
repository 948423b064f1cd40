//! Stored answers, in `idempotency_keys`: one row per user and key, with the
//! hash of the body that made it, kept 24 h.

use chrono::{DateTime, Duration, Utc};
use mindwell_shared::{entities::idempotency_keys, now};
use poem_openapi::types::{ParseFromJSON, ToJSON};
use sea_orm::{ActiveValue::Set, ConnectionTrait, DatabaseConnection, EntityTrait};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::key::IdempotencyKey;
use crate::error::{ApiError, failure};

/// How long an answer is replayed.
const KEEP_HOURS: i64 = 24;

/// A request made under an `Idempotency-Key`: the caller, the key and the
/// hash of the body.
#[derive(Debug, Clone)]
pub struct Idempotent {
    user: Uuid,
    key: IdempotencyKey,
    request_hash: String,
}

impl Idempotent {
    /// `None` without the header; 422 on `Idempotency-Key` for a bad one.
    pub fn from_header(user: Uuid, header: Option<String>, body: &[u8]) -> Result<Option<Self>, ApiError> {
        let Some(key) = IdempotencyKey::parse(header)? else { return Ok(None) };
        Ok(Some(Self { user, key, request_hash: hex::encode(Sha256::digest(body)) }))
    }

    /// The stored answer for this key, if it is live; 409 if it was for
    /// another body. An expired one is deleted.
    pub async fn replay<T: ParseFromJSON>(&self, db: &DatabaseConnection) -> Result<Option<T>, ApiError> {
        let id = (self.user, self.key.as_str().to_owned());
        let Some(row) = idempotency_keys::Entity::find_by_id(id.clone()).one(db).await? else {
            return Ok(None);
        };
        if row.expires_at <= now() {
            idempotency_keys::Entity::delete_by_id(id).exec(db).await?;
            return Ok(None);
        }
        if row.request_hash != self.request_hash {
            return Err(ApiError::Conflict("this Idempotency-Key was used with a different body".into()));
        }
        let parsed = T::parse_from_json(Some(row.response_body))
            .map_err(|e| ApiError::Internal(failure("stored idempotent answer", e.into_message())))?;
        Ok(Some(parsed))
    }

    /// Stores `answer` (sent with `status`) under this key, in `txn`: `false`
    /// when the key is taken (by a concurrent request, or an expired entry);
    /// roll back then and answer [`Self::taken`].
    pub async fn save<C: ConnectionTrait, T: ToJSON>(
        &self,
        txn: &C,
        status: u16,
        answer: &T,
        at: DateTime<Utc>,
    ) -> Result<bool, ApiError> {
        let stored = idempotency_keys::Entity::insert(idempotency_keys::ActiveModel {
            user_id: Set(self.user),
            key: Set(self.key.as_str().to_owned()),
            request_hash: Set(self.request_hash.clone()),
            response_status: Set(i32::from(status)),
            response_body: Set(answer.to_json().unwrap_or_default()),
            created_at: Set(at),
            expires_at: Set(at + Duration::hours(KEEP_HOURS)),
        })
        .on_conflict_do_nothing_on([idempotency_keys::Column::UserId, idempotency_keys::Column::Key])
        .exec(txn)
        .await?;
        Ok(matches!(stored, sea_orm::TryInsertResult::Inserted(_)))
    }

    /// The answer when [`Self::save`] found the key taken: the winner's
    /// answer, or 409 while it is still being made (an expired entry was
    /// deleted, so a retry stores anew).
    pub async fn taken<T: ParseFromJSON>(&self, db: &DatabaseConnection) -> Result<T, ApiError> {
        self.replay(db)
            .await?
            .ok_or_else(|| ApiError::Conflict("this Idempotency-Key is being used by another request".into()))
    }
}
