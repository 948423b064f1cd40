//! The one audit writer, for the API and the worker: entries are written in
//! the same transaction as the change they record (pass the transaction).
//!
//! `context` holds ids, reasons and, for sign-in attempts, the client IP only:
//! never notes, passwords, tokens or emails (an unknown email is a keyed hash).

use sea_orm::{ActiveValue::Set, ConnectionTrait, DbErr, EntityTrait};
use serde_json::Value;
use uuid::Uuid;

use crate::{entities::audit_logs, now};

/// Records `action` by `actor` (`None`: the system, e.g. the alert scanner).
pub async fn record<C: ConnectionTrait>(
    db: &C,
    actor: Option<Uuid>,
    action: &str,
    context: Value,
) -> Result<(), DbErr> {
    audit_logs::Entity::insert(audit_logs::ActiveModel {
        id: Set(Uuid::now_v7()),
        actor_id: Set(actor),
        action: Set(action.to_owned()),
        context: Set(context),
        created_at: Set(now()),
    })
    .exec_without_returning(db)
    .await?;
    Ok(())
}
