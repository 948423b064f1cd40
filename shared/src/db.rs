//! Connecting to the database, PostgreSQL or the embedded SQLite file.

use std::{path::Path, time::Duration};

use sea_orm::{ConnectOptions, ConnectionTrait, Database as SeaDatabase, DatabaseConnection};

use crate::{BootError, config::Database};

/// Opens a pool of at most `max_connections`. For SQLite it creates the file
/// and its folder private to this user ([`private_sqlite_file`]), turns on WAL
/// (the API and the worker share the file), foreign keys and `secure_delete`
/// (deleted notes are overwritten, not left in free pages).
pub async fn connect(db: &Database, max_connections: u32) -> Result<DatabaseConnection, BootError> {
    let mut opts = ConnectOptions::new(db.url());
    opts.max_connections(max_connections)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(5))
        .sqlx_logging(false);
    if let Database::Sqlite(path) = db {
        private_sqlite_file(path)?;
        // On every connection of the pool: a pragma run once below reaches one.
        opts.max_connections(max_connections.min(4)).map_sqlx_sqlite_opts(|o| o.pragma("secure_delete", "ON"));
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

/// Makes an embedded SQLite file private to this user whatever the umask: its
/// folder is created 0700 (an existing one is tightened, unless it is a shared
/// sticky folder such as `/tmp`) and the file is created 0600 before SQLite
/// opens it. SQLite gives the `-wal` and `-shm` files the main file's
/// permissions; ones left by an earlier run are tightened here too.
pub fn private_sqlite_file(path: &Path) -> Result<(), BootError> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};

    let io = |what: &str, p: &Path| {
        let what = format!("{what} {}", p.display());
        move |source| BootError::Io { what, source }
    };
    let set_mode = |p: &Path, mode: u32| std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode));
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).map_err(io("cannot create", dir))?;
        let mode = std::fs::metadata(dir).map_err(io("cannot read", dir))?.permissions().mode();
        if mode & 0o077 != 0
            && mode & 0o1000 == 0
            && let Err(e) = set_mode(dir, 0o700)
        {
            tracing::warn!(dir = %dir.display(), error = %e, "cannot make the data folder private (0700)");
        }
    }
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
        .map_err(io("cannot create", path))?;
    set_mode(path, 0o600).map_err(io("cannot make private", path))?;
    for suffix in ["-wal", "-shm"] {
        let mut side = path.as_os_str().to_owned();
        side.push(suffix);
        let side = Path::new(&side);
        if side.exists() {
            set_mode(side, 0o600).map_err(io("cannot make private", side))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::private_sqlite_file;

    fn mode(p: &std::path::Path) -> u32 {
        std::fs::metadata(p).expect("metadata").permissions().mode() & 0o7777
    }

    #[test]
    fn sqlite_files_and_their_folder_are_private_even_when_they_existed() {
        let dir = std::env::temp_dir().join(format!("mindwell-db-{}", uuid::Uuid::new_v4().simple()));
        let file = dir.join("nested").join("db.sqlite");
        private_sqlite_file(&file).expect("fresh");
        assert_eq!(mode(file.parent().expect("parent")), 0o700);
        assert_eq!(mode(&file), 0o600);

        let wal = dir.join("nested").join("db.sqlite-wal");
        std::fs::write(&wal, b"").expect("wal");
        for (p, m) in [(file.parent().expect("parent"), 0o755), (file.as_path(), 0o644), (wal.as_path(), 0o644)] {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).expect("loosen");
        }
        private_sqlite_file(&file).expect("existing");
        assert_eq!(mode(file.parent().expect("parent")), 0o700);
        assert_eq!(mode(&file), 0o600);
        assert_eq!(mode(&wal), 0o600);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn embedded_connections_run_with_secure_delete() {
        use sea_orm::{ConnectionTrait, Statement};

        let dir = std::env::temp_dir().join(format!("mindwell-db-{}", uuid::Uuid::new_v4().simple()));
        let db = super::connect(&crate::config::Database::Sqlite(dir.join("db.sqlite")), 2).await.expect("connect");
        let row = db
            .query_one_raw(Statement::from_string(db.get_database_backend(), "PRAGMA secure_delete"))
            .await
            .expect("pragma")
            .expect("a row");
        assert_eq!(row.try_get_by_index::<i32>(0).expect("value"), 1);
        drop(db);
        let _ = std::fs::remove_dir_all(dir);
    }
}
