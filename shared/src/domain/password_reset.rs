//! The password reset code's lifecycle: issued by the worker (which mails it),
//! checked and spent by the API. One live code per user at a time; it dies
//! when used, after [`TTL`], after [`MAX_WRONG`] wrong tries, or when a newer
//! one is issued.

use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    sea_query::{Expr, ExprTrait},
};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::entities::password_reset_codes;

/// How long a code stays valid.
pub const TTL: Duration = Duration::minutes(30);
/// Wrong codes that kill the live one.
pub const MAX_WRONG: i32 = 5;
/// Digits in a code.
pub const DIGITS: usize = 8;

/// What is stored of a code.
pub fn hash_code(code: &str) -> String {
    hex::encode(Sha256::digest(code.trim().as_bytes()))
}

/// A fresh random code of [`DIGITS`] digits.
fn new_code() -> String {
    let mut rng = rand::rng();
    (0..DIGITS).map(|_| char::from(b'0' + rng.random_range(0..10u8))).collect()
}

/// Issues a new code for `user` under `id` (the request's id, so a redelivered
/// job replaces its own code rather than adding another) and kills any older
/// live one. Returns the code in clear, to be mailed and forgotten.
pub async fn issue<C: ConnectionTrait>(db: &C, id: Uuid, user: Uuid, at: DateTime<Utc>) -> Result<String, DbErr> {
    let code = new_code();
    password_reset_codes::Entity::update_many()
        .col_expr(password_reset_codes::Column::UsedAt, Expr::value(at))
        .filter(password_reset_codes::Column::UserId.eq(user))
        .filter(password_reset_codes::Column::Id.ne(id))
        .filter(password_reset_codes::Column::UsedAt.is_null())
        .exec(db)
        .await?;
    password_reset_codes::Entity::delete_by_id(id).exec(db).await?;
    password_reset_codes::ActiveModel {
        id: Set(id),
        user_id: Set(user),
        code_hash: Set(hash_code(&code)),
        created_at: Set(at),
        expires_at: Set(at + TTL),
        used_at: Set(None),
        wrong_attempts: Set(0),
    }
    .insert(db)
    .await?;
    Ok(code)
}

/// What presenting a code did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// Right, and now spent.
    Spent,
    /// Wrong, or no live code: counted against the live code, if any.
    Refused,
}

/// Checks `code` against `user`'s live code and spends it when right (at most
/// once, even under concurrent tries); a wrong code counts towards [`MAX_WRONG`].
pub async fn spend<C: ConnectionTrait>(db: &C, user: Uuid, code: &str, at: DateTime<Utc>) -> Result<Check, DbErr> {
    let Some(live) = password_reset_codes::Entity::find()
        .filter(password_reset_codes::Column::UserId.eq(user))
        .filter(password_reset_codes::Column::UsedAt.is_null())
        .filter(password_reset_codes::Column::ExpiresAt.gt(at))
        .filter(password_reset_codes::Column::WrongAttempts.lt(MAX_WRONG))
        .order_by_desc(password_reset_codes::Column::CreatedAt)
        .one(db)
        .await?
    else {
        return Ok(Check::Refused);
    };
    if !constant_time_eq(hash_code(code).as_bytes(), live.code_hash.as_bytes()) {
        password_reset_codes::Entity::update_many()
            .col_expr(
                password_reset_codes::Column::WrongAttempts,
                Expr::col(password_reset_codes::Column::WrongAttempts).add(1),
            )
            .filter(password_reset_codes::Column::Id.eq(live.id))
            .exec(db)
            .await?;
        return Ok(Check::Refused);
    }
    let spent = password_reset_codes::Entity::update_many()
        .col_expr(password_reset_codes::Column::UsedAt, Expr::value(at))
        .filter(password_reset_codes::Column::Id.eq(live.id))
        .filter(password_reset_codes::Column::UsedAt.is_null())
        .filter(password_reset_codes::Column::WrongAttempts.lt(MAX_WRONG))
        .exec(db)
        .await?;
    Ok(if spent.rows_affected == 1 { Check::Spent } else { Check::Refused })
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_have_eight_digits_and_are_stored_hashed() {
        let code = new_code();
        assert_eq!(code.len(), DIGITS);
        assert!(code.chars().all(|c| c.is_ascii_digit()));
        assert_eq!(hash_code(&code).len(), 64);
        assert_ne!(hash_code(&code), code);
        assert_eq!(hash_code(&format!(" {code} ")), hash_code(&code));
    }
}
