//! `GET /api/v1/auth/me`: the signed-in user.

use mindwell_shared::entities::users;
use poem_openapi::OpenApi;
use sea_orm::EntityTrait;

use super::{Tag, User, guard::Auth};
use crate::{
    body::{Reply, ok},
    error::ApiError,
    state::AppState,
};

/// The current-user endpoint.
#[derive(Debug, Default)]
pub struct CurrentUserApi;

#[OpenApi(prefix_path = "/api/v1/auth", tag = "Tag::Auth")]
impl CurrentUserApi {
    /// The signed-in user.
    #[oai(path = "/me", method = "get")]
    async fn me(&self, state: poem::web::Data<&AppState>, auth: Auth) -> Result<Reply<User>, ApiError> {
        let user = users::Entity::find_by_id(auth.0.id)
            .one(&state.db)
            .await?
            .filter(|u| !u.disabled)
            .ok_or(ApiError::Unauthorized)?;
        Ok(ok(user.into()))
    }
}
