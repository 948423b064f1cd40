//! Migrations on PostgreSQL: API replicas that start together on an empty
//! database take turns; none fails and the schema is applied once.

use mindwell_tests::pg_admin_url;
use sea_orm::{ConnectionTrait, Database};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replicas_migrating_one_empty_database_at_once_all_succeed() {
    let admin = Database::connect(pg_admin_url()).await.expect("PostgreSQL");
    let name = format!("mwtest_{}", uuid::Uuid::new_v4().simple());
    admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.expect("create");
    let url = format!("{}/{name}", pg_admin_url().rsplit_once('/').expect("url").0);
    let replicas = (0..3).map(|_| {
        let url = url.clone();
        tokio::spawn(async move {
            let db = Database::connect(url).await.expect("connect");
            mindwell_api::migrate(&db).await
        })
    });
    for replica in futures::future::join_all(replicas).await {
        replica.expect("task").expect("migrate");
    }
    let db = Database::connect(url).await.expect("connect");
    let applied = db
        .query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SELECT count(*)::bigint AS n FROM seaql_migrations".to_owned(),
        ))
        .await
        .expect("query")
        .expect("row")
        .try_get::<i64>("", "n")
        .expect("n");
    let expected = <mindwell_migrations::Migrator as mindwell_migrations::MigratorTrait>::migrations().len();
    assert_eq!(applied, i64::try_from(expected).expect("count"), "each migration recorded once");
}
