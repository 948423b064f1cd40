//! A user's settings: the stored row, or the defaults every user starts with.

use sea_orm::{ConnectionTrait, DbErr, EntityTrait};
use uuid::Uuid;

use crate::{entities::user_settings, now};

/// The settings of a user who never changed them.
pub fn defaults(user: Uuid) -> user_settings::Model {
    user_settings::Model {
        user_id: user,
        timezone: "UTC".into(),
        language: "en".into(),
        notify_email: false,
        notify_push: true,
        updated_at: now(),
    }
}

/// The stored settings of `user`, or [`defaults`].
pub async fn load<C: ConnectionTrait>(db: &C, user: Uuid) -> Result<user_settings::Model, DbErr> {
    Ok(user_settings::Entity::find_by_id(user).one(db).await?.unwrap_or_else(|| defaults(user)))
}
