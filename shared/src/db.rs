//! Connecting to the database, PostgreSQL or the embedded SQLite file.

use std::time::Duration;

use sea_orm::{ConnectOptions, ConnectionTrait, Database as SeaDatabase, DatabaseConnection};

use crate::{BootError, config::Database};

/// Opens a pool of at most `max_connections`. For SQLite it creates the file's
/// folder, turns on WAL (the API and the worker share the file) and foreign keys.
pub async fn connect(db: &Database, max_connections: u32) -> Result<DatabaseConnection, BootError> {
    let mut opts = ConnectOptions::new(db.url());
    opts.max_connections(max_connections)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(5))
        .sqlx_logging(false);
    if let Database::Sqlite(path) = db {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| BootError::Io { what: format!("cannot create {}", dir.display()), source: e })?;
        }
        opts.max_connections(max_connections.min(4));
    }
    let conn = SeaDatabase::connect(opts).await?;
    if matches!(db, Database::Sqlite(_)) {
        for pragma in [
            "PRAGMA journal_mode=WAL",
            "PRAGMA busy_timeout=5000",
            "PRAGMA foreign_keys=ON",
            "PRAGMA synchronous=NORMAL",
        ] {
            conn.execute_unprepared(pragma).await?;
        }
    }
    Ok(conn)
}
