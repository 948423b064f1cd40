//! `/api/v1/me/settings`: time zone, language, notification preferences.

use mindwell_shared::{entities::user_settings, now};
use poem_openapi::{Object, OpenApi};
use sea_orm::{ActiveValue::Set, EntityTrait, sea_query::OnConflict};
use uuid::Uuid;

use super::Tag;
use crate::{
    auth::guard::Auth,
    body::{Body, Fields, FromJson, Reply, ok},
    error::ApiError,
    state::AppState,
};

/// Notification channels.
#[derive(Debug, Clone, Object)]
pub struct Notifications {
    pub email: bool,
    pub push: bool,
}

/// A user's settings.
#[derive(Debug, Clone, Object)]
pub struct Settings {
    /// IANA time zone name, e.g. `Europe/Paris`; the user's days are counted in it.
    pub timezone: String,
    /// Language tag, e.g. `en` or `pt-BR`.
    pub language: String,
    pub notifications: Notifications,
}

impl From<user_settings::Model> for Settings {
    fn from(s: user_settings::Model) -> Self {
        Self {
            timezone: s.timezone,
            language: s.language,
            notifications: Notifications { email: s.notify_email, push: s.notify_push },
        }
    }
}

/// `PUT /me/settings` body: any subset of the fields; the rest stay as they are.
#[derive(Debug, Clone, Object)]
pub struct SettingsUpdate {
    #[oai(nullable)]
    pub timezone: Option<String>,
    #[oai(nullable)]
    pub language: Option<String>,
    #[oai(nullable)]
    pub notifications: Option<NotificationsUpdate>,
}

/// Channels to change.
#[derive(Debug, Clone, Object)]
pub struct NotificationsUpdate {
    #[oai(nullable)]
    pub email: Option<bool>,
    #[oai(nullable)]
    pub push: Option<bool>,
}

impl FromJson for SettingsUpdate {
    fn from_json(f: &mut Fields<'_>) -> Option<Self> {
        let timezone = f.opt_string("timezone").and_then(|tz| match tz {
            Some(tz) if tz.parse::<chrono_tz::Tz>().is_err() => {
                f.error("timezone", "must be an IANA time zone name, e.g. Europe/Paris");
                None
            }
            other => Some(other),
        });
        let language = f.opt_string("language").and_then(|l| match l {
            Some(l) if !valid_language(&l) => {
                f.error("language", "must be a language tag such as en or pt-BR");
                None
            }
            other => Some(other),
        });
        let notifications = f.opt_object("notifications").and_then(|n| match n {
            None => Some(None),
            Some(map) => {
                let mut get = |key: &str| match map.get(key) {
                    None | Some(serde_json::Value::Null) => Some(None),
                    Some(serde_json::Value::Bool(b)) => Some(Some(*b)),
                    Some(_) => {
                        f.error(&format!("notifications.{key}"), "must be true or false");
                        None
                    }
                };
                let email = get("email");
                let push = get("push");
                Some(Some(NotificationsUpdate { email: email?, push: push? }))
            }
        });
        Some(Self { timezone: timezone?, language: language?, notifications: notifications? })
    }
}

fn valid_language(tag: &str) -> bool {
    let mut parts = tag.split('-');
    let primary_ok =
        parts.next().is_some_and(|p| (2..=3).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphabetic()));
    primary_ok
        && tag.len() <= 35
        && parts.all(|p| (1..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()))
}

/// The stored settings of `user`, or the defaults.
pub async fn load(state: &AppState, user: Uuid) -> Result<user_settings::Model, ApiError> {
    Ok(mindwell_shared::domain::settings::load(&state.db, user).await?)
}

/// The settings endpoints.
#[derive(Debug, Default)]
pub struct SettingsApi;

#[OpenApi(prefix_path = "/api/v1/me/settings", tag = "Tag::Me")]
impl SettingsApi {
    /// The caller's settings.
    #[oai(path = "/", method = "get")]
    async fn get(&self, state: poem::web::Data<&AppState>, auth: Auth) -> Result<Reply<Settings>, ApiError> {
        Ok(ok(load(&state, auth.0.id).await?.into()))
    }

    /// Change settings; an unknown time zone is 422.
    #[oai(path = "/", method = "put")]
    async fn put(
        &self,
        state: poem::web::Data<&AppState>,
        auth: Auth,
        body: Body<SettingsUpdate>,
    ) -> Result<Reply<Settings>, ApiError> {
        let update = body.value;
        let mut s = load(&state, auth.0.id).await?;
        let email_before = s.notify_email;
        if let Some(tz) = update.timezone {
            s.timezone = tz;
        }
        if let Some(l) = update.language {
            s.language = l;
        }
        if let Some(n) = update.notifications {
            s.notify_email = n.email.unwrap_or(s.notify_email);
            s.notify_push = n.push.unwrap_or(s.notify_push);
        }
        s.updated_at = now();
        user_settings::Entity::insert(user_settings::ActiveModel {
            user_id: Set(s.user_id),
            timezone: Set(s.timezone.clone()),
            language: Set(s.language.clone()),
            notify_email: Set(s.notify_email),
            notify_push: Set(s.notify_push),
            updated_at: Set(s.updated_at),
        })
        .on_conflict(
            OnConflict::column(user_settings::Column::UserId)
                .update_columns([
                    user_settings::Column::Timezone,
                    user_settings::Column::Language,
                    user_settings::Column::NotifyEmail,
                    user_settings::Column::NotifyPush,
                    user_settings::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(&state.db)
        .await?;
        if s.notify_email != email_before {
            // The record of consent to email: who, which way, when.
            let action = if s.notify_email { "notifications.email_opted_in" } else { "notifications.email_opted_out" };
            mindwell_shared::domain::audit::record(&state.db, Some(auth.0.id), action, serde_json::json!({})).await?;
        }
        crate::infra::dashboard_cache::invalidate(&state.kv, auth.0.id).await;
        Ok(ok(s.into()))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn language_tags() {
        for ok in ["en", "pt-BR", "zh-Hant-TW", "fil"] {
            assert!(super::valid_language(ok), "{ok}");
        }
        for bad in ["", "e", "english-language-tag-is-too-long-to-accept", "en_US", "12"] {
            assert!(!super::valid_language(bad), "{bad}");
        }
    }
}
