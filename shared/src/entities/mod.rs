//! SeaORM entities, one module per table, kept apart from behaviour on them.
//!
//! They mirror `migrations/` exactly; the hand-written behaviour lives with the
//! code that uses it (the API's resource modules, the worker's jobs).

pub mod access_log;
pub mod ai_analysis_results;
pub mod alerts;
pub mod audit_logs;
pub mod consents;
pub mod daily_checkins;
pub mod idempotency_keys;
pub mod model_runs;
pub mod password_reset_codes;
pub mod refresh_tokens;
pub mod sessions;
pub mod summaries;
pub mod user_settings;
pub mod users;
