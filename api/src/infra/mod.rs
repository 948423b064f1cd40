//! What the shared state holds besides the database, the queue and the
//! configuration: the connections and background helpers every resource may
//! use. A module here imports no resource module and not the state, so
//! `crate::state` depends only on infrastructure.
//!
//! - [`kv`]: Redis (or in-process) key-value state: revocations, rate limits.
//! - [`dashboard_cache`]: the per-user dashboard cache on top of [`kv`].
//! - [`jwt`]: signing and verifying access tokens.
//! - [`hub`]: events for this process's notification streams.
//! - [`requeue`]: analyses whose enqueue failed, tried again in the background.

pub mod dashboard_cache;
pub mod hub;
pub mod jwt;
pub mod kv;
pub mod requeue;
