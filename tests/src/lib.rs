//! Test harness: the real API on port 0 over a fresh PostgreSQL database (a
//! clone of a migrated template) and real Redis under a namespace of its own,
//! and real workers (in-process, or as `mindwell-worker` processes) running
//! the real models.
//!
//! PostgreSQL and Redis must be running (`MINDWELL_TEST_PG`, default
//! `postgres://postgres@127.0.0.1:5432/postgres`; `MINDWELL_TEST_REDIS`,
//! default `redis://127.0.0.1:6379`): without them every test fails, loudly.
//!
//! Where things live:
//! - [`app`]: [`TestApp`], the API under test, its configuration and `call`;
//! - [`users`]: [`TestUser`], signup, login, the bootstrap admin, coaches;
//! - [`fixtures`]: check-ins, waiting for their insights, stored alerts;
//! - [`database`]: the migrated template and one database per test;
//! - [`redis`]: the shared Redis and its keys;
//! - [`proxy`]: [`RedisProxy`], a Redis outage for one test;
//! - [`workers`]: worker configuration and [`WorkerHandle`];
//! - [`binaries`]: the built binaries, run as processes;
//! - [`smtp`]: a fake mail server.
//!
//! Everything is re-exported here, so tests import from the crate root.

pub mod app;
pub mod binaries;
pub mod database;
pub mod fixtures;
pub mod proxy;
pub mod redis;
pub mod smtp;
pub mod users;
pub mod workers;

pub use app::{TestApp, api_config, test_backends};
pub use binaries::{binary, free_port, repo_root};
pub use database::{fresh_database, pg_admin_url};
pub use proxy::RedisProxy;
pub use redis::{redis, redis_keys, redis_url};
pub use smtp::fake_smtp;
pub use users::{ADMIN_EMAIL, ADMIN_PASSWORD, TestUser, email};
pub use workers::{WorkerHandle, ort_dylib, worker_config};
