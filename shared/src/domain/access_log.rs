//! The one access-log writer: a coach's or an admin's read or change of a
//! user's data, for that user to see. Write it in the same transaction as the
//! change, or before the answer that discloses the data; a failed write fails
//! the request. Never for a user's own reads.

use sea_orm::{ActiveValue::Set, ConnectionTrait, DbErr, EntityTrait};
use uuid::Uuid;

use crate::{
    domain::{AccessAction, Role},
    entities::access_log,
    now,
};

/// Records that `actor` (in `role`) did `action` on `subject` of `user`'s data.
pub async fn record<C: ConnectionTrait>(
    db: &C,
    user: Uuid,
    actor: Uuid,
    role: Role,
    action: AccessAction,
    subject: &str,
) -> Result<(), DbErr> {
    access_log::Entity::insert(access_log::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user),
        actor_id: Set(actor),
        actor_role: Set(role.into()),
        action: Set(action.into()),
        subject: Set(subject.to_owned()),
        created_at: Set(now()),
    })
    .exec_without_returning(db)
    .await?;
    Ok(())
}
