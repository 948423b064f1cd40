//! Behaviour on the domain, beside the generated entities (`crate::entities`),
//! in loco's shape: the closed sets as enums ([`kinds`]), the analysis
//! lifecycle ([`analysis`]), the audit writer ([`audit`]), the access-log
//! writer ([`access_log`]), settings defaults ([`settings`]) and the summary
//! template ([`summary`]). The API, the worker and the scheduler call these;
//! no status, role, scope or alert string is written anywhere else.

pub mod access_log;
pub mod analysis;
pub mod audit;
pub mod kinds;
pub mod password_reset;
pub mod settings;
pub mod summary;

pub use kinds::{
    AccessAction, AlertStatus, AlertType, AnalysisStatus, ConsentScope, Period, Role, RunPurpose, Severity,
    UnknownValue,
};
