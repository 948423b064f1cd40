//! What every handler can reach: connections, configuration and the
//! infrastructure in [`crate::infra`]; never anything a resource module owns.

use std::sync::Arc;

use mindwell_shared::queue::QueueConn;
use sea_orm::DatabaseConnection;

use crate::{
    config::ApiConfig,
    infra::{hub::Hub, jwt::JwtKeys, kv::Kv, requeue::Requeue},
    shutdown::Phase,
};

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
    pub hub: Hub,
    /// Analyses whose enqueue failed, tried again in the background.
    pub requeue: Requeue,
    /// Where shutdown stands: readiness fails once it began.
    pub phase: Phase,
}
