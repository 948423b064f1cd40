//! A Redis outage for one test: a TCP proxy in front of the shared Redis that
//! can drop every connection and come back on the same port.

use crate::redis_url;

/// A TCP proxy in front of the test Redis that can cut every connection and
/// refuse new ones, then come back on the same port: a Redis outage for one
/// test, without touching the Redis other tests share.
pub struct RedisProxy {
    pub port: u16,
    up: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl RedisProxy {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let port = listener.local_addr().expect("proxy addr").port();
        let target = redis_url().trim_start_matches("redis://").trim_end_matches('/').to_owned();
        let (up, mut rx) = tokio::sync::watch::channel(true);
        let task = tokio::spawn(async move {
            let mut listener = Some(listener);
            loop {
                let Some(l) = listener.take() else {
                    // Down: wait to come back, then listen on the same port.
                    if rx.wait_for(|up| *up).await.is_err() {
                        return;
                    }
                    listener = Some(tokio::net::TcpListener::bind(("127.0.0.1", port)).await.expect("rebind proxy"));
                    continue;
                };
                let mut conns = tokio::task::JoinSet::new();
                loop {
                    tokio::select! {
                        accepted = l.accept() => {
                            let Ok((mut client, _)) = accepted else { continue };
                            let target = target.clone();
                            conns.spawn(async move {
                                if let Ok(mut server) = tokio::net::TcpStream::connect(target).await {
                                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                                }
                            });
                        }
                        changed = rx.changed() => {
                            if changed.is_err() || !*rx.borrow() {
                                break;
                            }
                        }
                    }
                }
                // Cut: refuse new connections and drop every open one.
                drop(l);
                conns.shutdown().await;
            }
        });
        Self { port, up, task }
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Redis goes away: open connections drop, new ones are refused.
    pub fn cut(&self) {
        let _ = self.up.send(false);
    }

    /// Redis is back.
    pub fn restore(&self) {
        let _ = self.up.send(true);
    }
}

impl Drop for RedisProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}
