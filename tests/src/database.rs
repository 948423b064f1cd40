//! PostgreSQL for tests: one database per test, cloned from a template that is
//! migrated once per schema version (as rust-lang/crates.io does, for speed).

use mindwell_migrations::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, Database as Db};
use sha2::{Digest, Sha256};

/// The admin connection URL of the test PostgreSQL server.
pub fn pg_admin_url() -> String {
    std::env::var("MINDWELL_TEST_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn db_url(name: &str) -> String {
    let admin = pg_admin_url();
    let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
    format!("{base}/{name}")
}

/// Creates a database for one test, cloned from a template migrated once per
/// schema version (the template's name carries a hash of the migrations).
pub async fn fresh_database() -> String {
    let admin = Db::connect(pg_admin_url())
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL is not reachable at {}: {e}. The tests need it.", pg_admin_url()));
    let names: Vec<String> = Migrator::migrations().iter().map(|m| m.name().to_owned()).collect();
    let hash = hex::encode(&Sha256::digest(names.join(",").as_bytes())[..6]);
    let template = format!("mwtpl_{hash}");
    admin.execute_unprepared("SELECT pg_advisory_lock(727201)").await.expect("advisory lock");
    let exists = admin
        .query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            format!("SELECT 1 FROM pg_database WHERE datname = '{template}'"),
        ))
        .await
        .expect("query pg_database")
        .is_some();
    if !exists {
        let building = format!("{template}_build");
        admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {building}")).await.expect("drop build db");
        admin.execute_unprepared(&format!("CREATE DATABASE {building}")).await.expect("create build db");
        let db = Db::connect(db_url(&building)).await.expect("connect build db");
        Migrator::up(&db, None).await.expect("migrate template");
        db.close().await.expect("close build db");
        admin
            .execute_unprepared(&format!("ALTER DATABASE {building} RENAME TO {template}"))
            .await
            .expect("rename template");
    }
    admin.execute_unprepared("SELECT pg_advisory_unlock(727201)").await.expect("advisory unlock");
    let name = format!("mwtest_{}", uuid::Uuid::new_v4().simple());
    admin.execute_unprepared(&format!("CREATE DATABASE {name} TEMPLATE {template}")).await.expect("clone template");
    admin.close().await.ok();
    db_url(&name)
}
