//! Who may see whose data: the one place roles and consents are checked.
//!
//! A user sees their own data; an admin sees everyone's; a coach sees a user's
//! data only through that user's active consent of the right scope, read from
//! the database on every request, so a revocation takes effect at once.

use mindwell_shared::{
    domain::{ConsentScope, Role},
    entities::consents,
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use crate::{auth::guard::AuthUser, error::ApiError, state::AppState};

impl AuthUser {
    /// 403 unless the caller is an admin.
    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.is_admin() { Ok(()) } else { Err(ApiError::Forbidden) }
    }

    /// 403 unless the caller is a coach.
    pub fn require_coach(&self) -> Result<(), ApiError> {
        if self.role == Role::Coach { Ok(()) } else { Err(ApiError::Forbidden) }
    }
}

/// The scopes of `coach`'s active consents from `user` (a stored scope this
/// build does not know grants nothing).
pub async fn active_scopes(state: &AppState, coach: Uuid, user: Uuid) -> Result<Vec<ConsentScope>, ApiError> {
    let stored: Vec<String> = consents::Entity::find()
        .select_only()
        .column(consents::Column::Scope)
        .filter(consents::Column::CoachId.eq(coach))
        .filter(consents::Column::UserId.eq(user))
        .filter(consents::Column::RevokedAt.is_null())
        .into_tuple()
        .all(&state.db)
        .await?;
    Ok(stored.iter().filter_map(|s| s.parse().ok()).collect())
}

/// The users who gave `coach` an active consent of any scope.
pub async fn consenting_users(state: &AppState, coach: Uuid) -> Result<Vec<Uuid>, ApiError> {
    let mut users: Vec<Uuid> = consents::Entity::find()
        .select_only()
        .column(consents::Column::UserId)
        .filter(consents::Column::CoachId.eq(coach))
        .filter(consents::Column::RevokedAt.is_null())
        .into_tuple()
        .all(&state.db)
        .await?;
    users.sort_unstable();
    users.dedup();
    Ok(users)
}

/// Whether `caller` may see `owner`'s data of `scope`: their own, an admin's
/// view, or a coach's with an active consent of that scope.
pub async fn may_view(state: &AppState, caller: &AuthUser, owner: Uuid, scope: ConsentScope) -> Result<bool, ApiError> {
    if caller.id == owner || caller.is_admin() {
        return Ok(true);
    }
    if caller.role != Role::Coach {
        return Ok(false);
    }
    Ok(active_scopes(state, caller.id, owner).await?.contains(&scope))
}
