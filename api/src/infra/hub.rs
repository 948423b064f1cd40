//! Events received by this process, for its open notification streams.
//!
//! Every process publishes events on the deployment's Redis channel
//! (`mindwell_shared::events`); each API replica subscribes once here and fans
//! them out to its streams (`crate::notifications`).

use mindwell_shared::events::{self, Event};
use tokio::sync::broadcast;

/// Events received by this process, for its open streams.
#[derive(Debug, Clone)]
pub struct Hub {
    sender: broadcast::Sender<Event>,
    /// The Redis subscription feeding `sender`, kept for the hub's lifetime.
    _subscriber: Option<fred::clients::SubscriberClient>,
}

impl Hub {
    /// A hub with no source: streams only keep alive (the embedded mode, where
    /// the worker has no channel to publish on).
    pub fn idle() -> Self {
        Self { sender: broadcast::channel(1).0, _subscriber: None }
    }

    /// Subscribes to the deployment's channel on Redis and forwards its events.
    pub async fn redis(url: &str, namespace: &str) -> Result<Self, fred::error::Error> {
        use fred::interfaces::{ClientLike, EventInterface, PubsubInterface};
        let (sender, _) = broadcast::channel(1024);
        let subscriber =
            mindwell_shared::redis::builder(url, std::time::Duration::from_secs(2))?.build_subscriber_client()?;
        subscriber.init().await?;
        // Resubscribes after a reconnect; the task runs on its own.
        drop(subscriber.manage_subscriptions());
        subscriber.subscribe(events::channel(namespace)).await?;
        let tx = sender.clone();
        subscriber.on_message(move |message| {
            if let Some(event) = message.value.as_string().and_then(|s| serde_json::from_str::<Event>(&s).ok()) {
                let _ = tx.send(event);
            }
            std::future::ready(Ok(()))
        });
        Ok(Self { sender, _subscriber: Some(subscriber) })
    }

    /// Delivers `event` to this process's streams (tests and single-process use).
    pub fn deliver(&self, event: Event) {
        let _ = self.sender.send(event);
    }

    /// A receiver of every event this process gets from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.sender.subscribe()
    }
}
