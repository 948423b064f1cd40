//! `GET /api/v1/notifications/stream`: Server-Sent Events for the signed-in user.
//!
//! Every process publishes events on the deployment's Redis channel
//! (`mindwell_shared::events`); each API replica subscribes once (the
//! [`Hub`](crate::infra::hub::Hub) in its state) and fans events out to its
//! open streams, so a user connected to any replica gets them. A stream
//! sends a comment every 15 s to stay alive and ends when its token is revoked
//! or expires (checked every few seconds).

use std::{pin::Pin, time::Duration};

use futures::{Stream, StreamExt};
use mindwell_shared::{
    entities::{ai_analysis_results as analyses, alerts, summaries},
    events::{self, Event},
};
use poem_openapi::{Object, OpenApi, Tags, payload::EventStream};
use sea_orm::EntityTrait;
use tokio::sync::broadcast;

use crate::{
    access,
    alerts::Alert,
    auth::guard::{self, Auth, AuthUser},
    error::ApiError,
    insights::Insight,
    state::AppState,
    summaries::Summary,
};

#[derive(Tags)]
enum Tag {
    /// Realtime notifications.
    Notifications,
}

/// How often an open stream re-checks its token.
const RECHECK: Duration = Duration::from_secs(5);

/// One notification: `event` names it, `data` is the record.
#[derive(Debug, Clone, Object)]
pub struct Notification {
    /// `insight.completed`, `alert.created` or `summary.created`.
    pub event: String,
    /// The `Insight`, `Alert` or `Summary`.
    pub data: serde_json::Value,
}

/// Reads the record an event names, if it still exists, as `caller` may see
/// it (an escalated alert reaches the user's coaches: their consent's scopes
/// decide what of it they get, as on every other route).
async fn load(state: &AppState, caller: &AuthUser, event: &Event) -> Option<Notification> {
    use poem_openapi::types::ToJSON;
    let view = |owner| async move { access::view_of(state, caller, owner).await.ok().flatten() };
    let data = match event.kind.as_str() {
        events::INSIGHT_COMPLETED => {
            let insight = analyses::Entity::find_by_id(event.id).one(&state.db).await.ok()??;
            if !view(insight.user_id).await?.notes {
                return None;
            }
            insight.pipe(Insight::from).to_json()
        }
        events::ALERT_CREATED => {
            let alert = alerts::Entity::find_by_id(event.id).one(&state.db).await.ok()??;
            let view = view(alert.user_id).await.filter(|v| v.numbers)?;
            view.alert(alert).pipe(Alert::from).to_json()
        }
        events::SUMMARY_CREATED => {
            let summary = summaries::Entity::find_by_id(event.id).one(&state.db).await.ok()??;
            let view = view(summary.user_id).await.filter(|v| v.numbers)?;
            crate::summaries::for_view(summary, view).pipe(Summary::from).to_json()
        }
        _ => None,
    }?;
    Some(Notification { event: event.kind.clone(), data })
}

trait Pipe: Sized {
    fn pipe<T>(self, f: impl FnOnce(Self) -> T) -> T {
        f(self)
    }
}
impl<T> Pipe for T {}

type Notifications = Pin<Box<dyn Stream<Item = Notification> + Send>>;

/// The notification endpoint.
#[derive(Debug, Default)]
pub struct NotificationsApi;

#[OpenApi(prefix_path = "/api/v1/notifications", tag = "Tag::Notifications")]
impl NotificationsApi {
    /// A Server-Sent Events stream of the caller's `insight.completed`,
    /// `alert.created` and `summary.created` events (data: the record); a
    /// comment every 15 s keeps it open. It ends when the token is revoked or
    /// expires.
    #[oai(path = "/stream", method = "get")]
    async fn stream(
        &self,
        state: poem::web::Data<&AppState>,
        req: &poem::Request,
        auth: Auth,
    ) -> Result<EventStream<Notifications>, ApiError> {
        let token = guard::presented_token(req).ok_or(ApiError::Unauthorized)?;
        let state = state.clone();
        let user = auth.0.id;
        let caller = auth.0.clone();
        let keep_alive = state.config.sse_keep_alive;
        let mut rx = state.hub.subscribe();
        let stream = async_stream(move |yielder| async move {
            let _open = OpenStream::count();
            let mut recheck = tokio::time::interval(RECHECK);
            recheck.tick().await;
            loop {
                tokio::select! {
                    // The client went away: end now, not at the next event or recheck.
                    () = yielder.closed() => return,
                    received = rx.recv() => match received {
                        Ok(event) if event.user_id == user => {
                            if let Some(n) = load(&state, &caller, &event).await && yielder.send(n).await.is_err() {
                                return;
                            }
                        }
                        Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                        Err(broadcast::error::RecvError::Closed) => return,
                    },
                    _ = recheck.tick() => {
                        if guard::authenticate(&state, &token).await.is_err() {
                            return;
                        }
                    }
                }
            }
        });
        Ok(EventStream::new(stream)
            .keep_alive(keep_alive)
            .to_event(|n| poem::web::sse::Event::message(n.data.to_string()).event_type(n.event)))
    }
}

/// Counts an open stream's task in `mindwell_sse_streams` while it lives.
struct OpenStream;

impl OpenStream {
    fn count() -> Self {
        metrics::gauge!("mindwell_sse_streams").increment(1.0);
        Self
    }
}

impl Drop for OpenStream {
    fn drop(&mut self) {
        metrics::gauge!("mindwell_sse_streams").decrement(1.0);
    }
}

/// A stream fed by `f` through a channel: the producer ends when the client goes.
fn async_stream<F, Fut>(f: F) -> Notifications
where
    F: FnOnce(tokio::sync::mpsc::Sender<Notification>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    tokio::spawn(f(tx));
    tokio_stream_from(rx).boxed()
}

fn tokio_stream_from(mut rx: tokio::sync::mpsc::Receiver<Notification>) -> impl Stream<Item = Notification> {
    futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
}
