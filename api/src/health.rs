//! `/health` (liveness) and `/health/ready` (PostgreSQL and Redis reachable).

use poem::{
    IntoResponse, Response, handler,
    http::StatusCode,
    web::{Data, Json},
};
use serde_json::json;

use mindwell_shared::queue::Backend;

use crate::state::AppState;

/// `GET /health`: the process answers.
#[handler]
pub fn live() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

/// `GET /health/ready`: 200 when every dependency answers and the API is not
/// shutting down, 503 otherwise.
#[handler]
pub async fn ready(state: Data<&AppState>) -> Response {
    let timeout = std::time::Duration::from_secs(2);
    let db = matches!(tokio::time::timeout(timeout, state.db.ping()).await, Ok(Ok(())));
    let kv = matches!(tokio::time::timeout(timeout, state.kv.ping()).await, Ok(Ok(())));
    let queue = match &state.queue.backend {
        Backend::Redis(_) => kv,
        Backend::Sqlite(pool) => !pool.is_closed(),
    };
    let word = |ok: bool| if ok { "ok" } else { "unavailable" };
    // Shutting down: not ready, so load balancers stop sending new requests.
    let draining = state.phase.draining();
    let all = db && kv && queue && !draining;
    let body = json!({
        "status": if draining { "draining" } else { word(all) },
        "checks": {
            "database": word(db),
            "redis": if state.kv.is_redis() { word(kv) } else { "embedded" },
            "queue": word(queue),
        },
    });
    Json(body).with_status(if all { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE }).into_response()
}
