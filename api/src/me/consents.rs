//! `/api/v1/me/consents`: a user's consents for coaches, as versioned receipts.

use mindwell_shared::{
    entities::{consents, users},
    now,
};
use poem_openapi::{Object, OpenApi, param::Path};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, TransactionTrait};
use serde_json::json;
use uuid::Uuid;

use super::Tag;
use crate::{
    auth::guard::Auth,
    body::{Body, Fields, FromJson, Reply, created, ok},
    error::ApiError,
    state::AppState,
    types::{Time, path_id},
};
use mindwell_shared::domain::{ConsentScope, Role, audit};

/// A consent receipt: who, which coach, what scope, when granted and revoked.
#[derive(Debug, Clone, Object)]
pub struct Consent {
    pub id: Uuid,
    pub user_id: Uuid,
    pub coach_id: Uuid,
    /// `trends` or `insights`.
    pub scope: String,
    pub granted_at: Time,
    #[oai(nullable)]
    pub revoked_at: Option<Time>,
}

impl From<consents::Model> for Consent {
    fn from(c: consents::Model) -> Self {
        Self {
            id: c.id,
            user_id: c.user_id,
            coach_id: c.coach_id,
            scope: c.scope,
            granted_at: c.granted_at.into(),
            revoked_at: c.revoked_at.map(Into::into),
        }
    }
}

/// `POST /me/consents` body.
#[derive(Debug, Clone, Object)]
pub struct ConsentRequest {
    pub coach_id: Uuid,
    /// `trends` or `insights`.
    pub scope: String,
}

impl FromJson for ConsentRequest {
    fn from_json(f: &mut Fields<'_>) -> Option<Self> {
        let coach = f
            .string("coach_id")
            .and_then(|c| Uuid::parse_str(&c).map_err(|_| f.error("coach_id", "must be the id of a coach")).ok());
        let scope = f.string("scope").and_then(|s| {
            if s.parse::<ConsentScope>().is_ok() {
                Some(s)
            } else {
                f.error("scope", "must be trends or insights");
                None
            }
        });
        Some(Self { coach_id: coach?, scope: scope? })
    }
}

/// All of `user`'s consents, newest first.
pub async fn of_user(state: &AppState, user: Uuid) -> Result<Vec<consents::Model>, ApiError> {
    Ok(consents::Entity::find()
        .filter(consents::Column::UserId.eq(user))
        .order_by_desc(consents::Column::GrantedAt)
        .all(&state.db)
        .await?)
}

/// The consent endpoints.
#[derive(Debug, Default)]
pub struct ConsentsApi;

#[OpenApi(prefix_path = "/api/v1/me/consents", tag = "Tag::Me")]
impl ConsentsApi {
    /// Let a coach see your trends or insights. Granting a consent that is
    /// already active returns it.
    #[oai(path = "/", method = "post")]
    async fn grant(
        &self,
        state: poem::web::Data<&AppState>,
        auth: Auth,
        body: Body<ConsentRequest>,
    ) -> Result<Reply<Consent, 201>, ApiError> {
        let req = body.value;
        let coach = users::Entity::find_by_id(req.coach_id).one(&state.db).await?;
        if !coach.is_some_and(|c| c.role == Role::Coach && !c.disabled) || req.coach_id == auth.0.id {
            return Err(ApiError::field("coach_id", "is not a coach"));
        }
        let txn = state.db.begin().await?;
        let existing = consents::Entity::find()
            .filter(consents::Column::UserId.eq(auth.0.id))
            .filter(consents::Column::CoachId.eq(req.coach_id))
            .filter(consents::Column::Scope.eq(req.scope.clone()))
            .filter(consents::Column::RevokedAt.is_null())
            .one(&txn)
            .await?;
        if let Some(c) = existing {
            return Ok(created(c.into()));
        }
        let consent = consents::Model {
            id: Uuid::now_v7(),
            user_id: auth.0.id,
            coach_id: req.coach_id,
            scope: req.scope,
            granted_at: now(),
            revoked_at: None,
        };
        consents::Entity::insert(consents::ActiveModel {
            id: Set(consent.id),
            user_id: Set(consent.user_id),
            coach_id: Set(consent.coach_id),
            scope: Set(consent.scope.clone()),
            granted_at: Set(consent.granted_at),
            revoked_at: Set(None),
        })
        .exec_without_returning(&txn)
        .await?;
        audit::record(
            &txn,
            Some(auth.0.id),
            "consent.granted",
            json!({ "consent_id": consent.id, "coach_id": consent.coach_id, "scope": consent.scope }),
        )
        .await?;
        txn.commit().await?;
        Ok(created(consent.into()))
    }

    /// Every consent the caller gave, active and revoked, newest first.
    #[oai(path = "/", method = "get")]
    async fn list(&self, state: poem::web::Data<&AppState>, auth: Auth) -> Result<Reply<Vec<Consent>>, ApiError> {
        Ok(ok(of_user(&state, auth.0.id).await?.into_iter().map(Into::into).collect()))
    }

    /// Revoke a consent: the coach loses access at their next request. The
    /// receipt stays, with `revoked_at` set.
    #[oai(path = "/:id", method = "delete")]
    async fn revoke(
        &self,
        state: poem::web::Data<&AppState>,
        auth: Auth,
        id: Path<String>,
    ) -> Result<Reply<Consent>, ApiError> {
        let id = path_id(&id.0)?;
        let txn = state.db.begin().await?;
        let mut consent = consents::Entity::find_by_id(id)
            .one(&txn)
            .await?
            .filter(|c| c.user_id == auth.0.id)
            .ok_or(ApiError::NotFound)?;
        if consent.revoked_at.is_none() {
            let at = now();
            consents::Entity::update(consents::ActiveModel {
                id: Set(id),
                revoked_at: Set(Some(at)),
                ..Default::default()
            })
            .exec(&txn)
            .await?;
            audit::record(
                &txn,
                Some(auth.0.id),
                "consent.revoked",
                json!({ "consent_id": id, "coach_id": consent.coach_id, "scope": consent.scope }),
            )
            .await?;
            consent.revoked_at = Some(at);
        }
        txn.commit().await?;
        Ok(ok(consent.into()))
    }
}
