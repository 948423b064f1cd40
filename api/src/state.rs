//! What every handler can reach: connections and configuration.

use std::sync::Arc;

use mindwell_shared::queue::QueueConn;
use sea_orm::DatabaseConnection;

use crate::{auth::tokens::JwtKeys, config::ApiConfig, kv::Kv};

/// Shared state, cloned into each request cheaply.
#[derive(Debug, Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub queue: QueueConn,
    pub kv: Kv,
    pub jwt: Arc<JwtKeys>,
    pub config: Arc<ApiConfig>,
    /// A bcrypt hash checked against when the email is unknown, so a login
    /// takes as long whether or not the account exists.
    pub dummy_hash: Arc<str>,
    /// Events for this process's notification streams.
    pub hub: crate::notifications::Hub,
    /// Analyses whose enqueue failed, tried again in the background.
    pub requeue: crate::checkins::requeue::Requeue,
    /// Where shutdown stands: readiness fails once it began.
    pub phase: crate::shutdown::Phase,
}
