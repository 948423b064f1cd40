//! Who may see whose data: the one place roles and consents are checked.
//!
//! A user sees their own data; an admin sees everyone's; a coach sees a user's
//! data only through that user's active consent of the right scope, read from
//! the database on every request, so a revocation takes effect at once.

use std::collections::HashMap;

use mindwell_shared::{
    domain::{AlertType, ConsentScope, Role},
    entities::{alerts, consents},
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

/// What a caller may see of one user's data: the contract's "Consent scopes"
/// as one table. The user and admins see everything; a coach sees what the
/// scopes of their active consents add up to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct View {
    /// Moods, sleep, counts, alerts without note-derived payloads, summaries
    /// without quotes (`trends` or `insights`).
    pub numbers: bool,
    /// Insights, quoted summaries, note-derived alert payloads (`insights`).
    pub notes: bool,
    /// Questionnaire results and assignments (`assessments`).
    pub assessments: bool,
}

impl View {
    /// The owner's and an admin's view.
    pub const FULL: Self = Self { numbers: true, notes: true, assessments: true };

    /// What `scopes` add up to.
    pub fn of_scopes(scopes: &[ConsentScope]) -> Self {
        let has = |s| scopes.contains(&s);
        Self {
            numbers: has(ConsentScope::Trends) || has(ConsentScope::Insights),
            notes: has(ConsentScope::Insights),
            assessments: has(ConsentScope::Assessments),
        }
    }

    /// The alert as this view shows it: a note-derived payload is `{}` without `notes`.
    pub fn alert(self, mut alert: alerts::Model) -> alerts::Model {
        let from_notes = alert.r#type.parse::<AlertType>().is_ok_and(AlertType::from_notes);
        if from_notes && !self.notes {
            alert.payload = serde_json::json!({});
        }
        alert
    }
}

/// `caller`'s view of `owner`'s data; `None` when they may see nothing.
pub async fn view_of(state: &AppState, caller: &AuthUser, owner: Uuid) -> Result<Option<View>, ApiError> {
    if caller.id == owner || caller.is_admin() {
        return Ok(Some(View::FULL));
    }
    if caller.role != Role::Coach {
        return Ok(None);
    }
    let view = View::of_scopes(&active_scopes(state, caller.id, owner).await?);
    Ok((view.numbers || view.notes || view.assessments).then_some(view))
}

/// Every user who gave `coach` an active consent, with the view it adds up to.
pub async fn coach_views(state: &AppState, coach: Uuid) -> Result<HashMap<Uuid, View>, ApiError> {
    let rows: Vec<(Uuid, String)> = consents::Entity::find()
        .select_only()
        .column(consents::Column::UserId)
        .column(consents::Column::Scope)
        .filter(consents::Column::CoachId.eq(coach))
        .filter(consents::Column::RevokedAt.is_null())
        .into_tuple()
        .all(&state.db)
        .await?;
    let mut scopes: HashMap<Uuid, Vec<ConsentScope>> = HashMap::new();
    for (user, scope) in rows {
        if let Ok(scope) = scope.parse() {
            scopes.entry(user).or_default().push(scope);
        }
    }
    Ok(scopes.into_iter().map(|(user, s)| (user, View::of_scopes(&s))).collect())
}
