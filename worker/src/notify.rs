//! Email: a real channel behind a trait, off unless `MINDWELL_SMTP_URL` is set.
//!
//! Emails never carry note text or analysis details — only that something is
//! waiting in the app (and, for crisis language, where to find help) — and go
//! only to users who opted in (`notifications.email` in their settings; the
//! opt-in is audited by the API).

use std::sync::Arc;

use futures::future::BoxFuture;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor, message::Mailbox};
use mindwell_shared::{BootError, entities::users};
use sea_orm::{DatabaseConnection, EntityTrait};
use uuid::Uuid;

/// Sends one plain-text email. An error names no recipient: callers log it.
pub trait EmailSender: Send + Sync + std::fmt::Debug {
    fn send<'a>(&'a self, to: &'a str, subject: &'a str, body: &'a str) -> BoxFuture<'a, Result<(), String>>;
}

/// SMTP through lettre.
#[derive(Debug)]
pub struct Smtp {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Smtp {
    /// `url`: `smtp://host:port` (plain, for a relay on the same network),
    /// `smtp://user:pass@host?tls=required`, or `smtps://…`; `from`: the sender.
    pub fn new(url: &str, from: &str) -> Result<Self, BootError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| BootError::invalid("MINDWELL_SMTP_URL", e))?
            .build();
        let from = from.parse().map_err(|e| BootError::invalid("MINDWELL_SMTP_FROM", e))?;
        Ok(Self { transport, from })
    }
}

impl EmailSender for Smtp {
    fn send<'a>(&'a self, to: &'a str, subject: &'a str, body: &'a str) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let sent = async {
                let to: Mailbox = to.parse().map_err(|e| format!("recipient: {e}"))?;
                let message = Message::builder()
                    .from(self.from.clone())
                    .to(to)
                    .subject(subject)
                    .body(body.to_owned())
                    .map_err(|e| e.to_string())?;
                self.transport.send(message).await.map(|_| ()).map_err(|e| e.to_string())
            };
            sent.await.map_err(|e| without_recipient(&e, to))
        })
    }
}

/// `message` with every occurrence of `recipient` (any ASCII case) replaced:
/// SMTP servers quote the address they refuse (`550 <ada@example.com>: …`),
/// and the logs hold no email addresses.
fn without_recipient(message: &str, recipient: &str) -> String {
    let recipient = recipient.trim();
    if recipient.is_empty() {
        return message.to_owned();
    }
    let (haystack, needle) = (message.to_ascii_lowercase(), recipient.to_ascii_lowercase());
    let mut out = String::with_capacity(message.len());
    let mut rest = 0;
    for (at, _) in haystack.match_indices(&needle) {
        out.push_str(&message[rest..at]);
        out.push_str("[recipient]");
        rest = at + needle.len();
    }
    out.push_str(&message[rest..]);
    out
}

/// Sends one email through `sender`, counted in `mindwell_emails_total{outcome}`.
pub async fn send_counted(sender: &dyn EmailSender, to: &str, subject: &str, body: &str) -> Result<(), String> {
    let sent = sender.send(to, subject, body).await;
    let outcome = if sent.is_ok() { "sent" } else { "failed" };
    metrics::counter!("mindwell_emails_total", "outcome" => outcome).increment(1);
    sent
}

/// Emails `user` if they opted in; failures are logged, never fatal.
pub async fn email_user(
    sender: Option<&Arc<dyn EmailSender>>,
    db: &DatabaseConnection,
    user: Uuid,
    subject: &str,
    body: &str,
) {
    let Some(sender) = sender else { return };
    let opted_in = matches!(mindwell_shared::domain::settings::load(db, user).await, Ok(s) if s.notify_email);
    if !opted_in {
        return;
    }
    let Ok(Some(u)) = users::Entity::find_by_id(user).one(db).await else { return };
    if let Err(e) = send_counted(sender.as_ref(), &u.email, subject, body).await {
        tracing::warn!(%user, error = %e, "email not sent");
    }
}

#[cfg(test)]
mod tests {
    use super::without_recipient;

    #[test]
    fn smtp_errors_lose_the_recipient_in_any_case() {
        assert_eq!(
            without_recipient("550 5.1.1 <Ada@Example.com>: rejected; ada@example.com unknown", "ada@example.com"),
            "550 5.1.1 <[recipient]>: rejected; [recipient] unknown"
        );
        assert_eq!(without_recipient("connection refused", "ada@example.com"), "connection refused");
    }
}
