//! Which database failures are the client's (422), the database's absence
//! (503) or a bug (500).

use super::{ApiError, failure};

impl From<sea_orm::DbErr> for ApiError {
    fn from(e: sea_orm::DbErr) -> Self {
        use sea_orm::{DbErr, RuntimeErr};
        match &e {
            DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => Self::Unavailable(failure("database", e)),
            DbErr::Exec(RuntimeErr::SqlxError(cause)) | DbErr::Query(RuntimeErr::SqlxError(cause))
                if connection_lost(cause) =>
            {
                Self::Unavailable(failure("database", e))
            }
            DbErr::Exec(RuntimeErr::SqlxError(cause)) | DbErr::Query(RuntimeErr::SqlxError(cause))
                if unstorable_text(cause) =>
            {
                Self::field("request", "contains a character the database cannot store (NUL)")
            }
            _ => Self::Internal(failure("database", e)),
        }
    }
}

/// Whether PostgreSQL refused a text value it cannot store (a NUL byte):
/// SQLSTATE 22021 or 22P05. Every text field refuses NUL at the edge; this is
/// the net under a field that might be missed.
fn unstorable_text(e: &sea_orm::sqlx::Error) -> bool {
    matches!(e, sea_orm::sqlx::Error::Database(db) if db.code().is_some_and(|c| matches!(c.as_ref(), "22021" | "22P05")))
}

/// Whether a statement failed because the database went away under it (the
/// connection broke, the server is shutting down or refuses connections)
/// rather than because of the statement: a 503, not a 500.
fn connection_lost(e: &sea_orm::sqlx::Error) -> bool {
    use sea_orm::sqlx::Error;
    match e {
        Error::Io(_)
        | Error::Tls(_)
        | Error::Protocol(_)
        | Error::PoolTimedOut
        | Error::PoolClosed
        | Error::WorkerCrashed => true,
        // SQLSTATE class 08 (connection exception), 57P01..57P03 (admin or crash
        // shutdown, cannot connect now), 53300 (too many connections).
        Error::Database(db) => db
            .code()
            .is_some_and(|c| c.starts_with("08") || matches!(c.as_ref(), "57P01" | "57P02" | "57P03" | "53300")),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use sea_orm::{DbErr, RuntimeErr, sqlx};

    use crate::error::ApiError;

    #[test]
    fn a_lost_connection_is_unavailable_and_a_failed_statement_internal() {
        let lost = DbErr::Exec(RuntimeErr::SqlxError(Arc::new(sqlx::Error::Io(std::io::Error::other("reset")))));
        assert!(matches!(ApiError::from(lost), ApiError::Unavailable(_)));
        let pool = DbErr::Query(RuntimeErr::SqlxError(Arc::new(sqlx::Error::PoolTimedOut)));
        assert!(matches!(ApiError::from(pool), ApiError::Unavailable(_)));
        let failed = DbErr::Query(RuntimeErr::SqlxError(Arc::new(sqlx::Error::RowNotFound)));
        assert!(matches!(ApiError::from(failed), ApiError::Internal(_)));
    }
}
