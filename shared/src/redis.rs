//! Redis clients built one way for every binary: they reconnect forever with
//! backoff after Redis restarts or the network drops, and a command waits at
//! most a given time, so no caller hangs on an outage.

use std::time::Duration;

use fred::{
    clients::Client,
    interfaces::ClientLike,
    types::{
        Builder,
        config::{Config, ReconnectPolicy},
    },
};

/// Reconnect at once, then back off to at most 2 s between tries, forever.
pub fn reconnect_policy() -> ReconnectPolicy {
    ReconnectPolicy::new_exponential(0, 100, 2_000, 2)
}

/// A builder for `url` with the reconnect policy, 2 s connection timeouts and
/// `command_timeout` on every command.
pub fn builder(url: &str, command_timeout: Duration) -> Result<Builder, fred::error::Error> {
    let mut builder = Builder::from_config(Config::from_url(url)?);
    builder
        .with_connection_config(|c| {
            c.connection_timeout = Duration::from_secs(2);
            c.internal_command_timeout = Duration::from_secs(2);
        })
        .with_performance_config(|p| p.default_command_timeout = command_timeout)
        .set_policy(reconnect_policy());
    Ok(builder)
}

/// A connected client (see [`builder`]).
pub async fn client(url: &str, command_timeout: Duration) -> Result<Client, fred::error::Error> {
    let client = builder(url, command_timeout)?.build()?;
    client.init().await?;
    Ok(client)
}
