//! The closed sets of the domain — analysis statuses, alert types, severities
//! and statuses, roles, consent scopes — as enums serialised as the contract's
//! strings. Stored as those strings; code compares enums, never literals.

use std::{fmt, str::FromStr};

/// A value that is not one of an enum's strings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not a valid {kind}")]
pub struct UnknownValue {
    pub kind: &'static str,
    pub value: String,
}

/// Defines a string-backed enum: `as_str`, `ALL`, `Display`, `FromStr`, serde
/// as the string, and conversions into a stored `String` and a query value.
macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident, $kind:literal { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant),+
        }

        impl $name {
            /// Every value, in the contract's order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// As stored and as the contract spells it.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text),+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownValue;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok(Self::$variant),)+
                    other => Err(UnknownValue { kind: $kind, value: other.to_owned() }),
                }
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> Self {
                v.as_str().to_owned()
            }
        }

        impl From<$name> for sea_orm::Value {
            fn from(v: $name) -> Self {
                v.as_str().into()
            }
        }

        impl PartialEq<$name> for String {
            fn eq(&self, other: &$name) -> bool {
                self == other.as_str()
            }
        }

        impl PartialEq<$name> for str {
            fn eq(&self, other: &$name) -> bool {
                self == other.as_str()
            }
        }
    };
}

string_enum!(
    /// Where an analysis stands: `queued → running → completed | failed`.
    AnalysisStatus, "analysis status" {
        Queued = "queued",
        Running = "running",
        Completed = "completed",
        Failed = "failed",
    }
);

impl AnalysisStatus {
    /// Not finished yet: the states a worker may claim and the sweeper re-enqueues.
    pub const UNFINISHED: [Self; 2] = [Self::Queued, Self::Running];
}

string_enum!(
    /// What raised an alert.
    AlertType, "alert type" {
        LowSleep = "low_sleep",
        HighStress = "high_stress",
        MoodDrop = "mood_drop",
        CrisisLanguage = "crisis_language",
    }
);

impl AlertType {
    /// Whether the alert is made from the notes or a model over them: its
    /// payload then needs the `insights` scope.
    pub const fn from_notes(self) -> bool {
        matches!(self, Self::CrisisLanguage | Self::HighStress)
    }
}

string_enum!(
    /// How urgent an alert is.
    Severity, "severity" {
        Info = "info",
        Warning = "warning",
        Critical = "critical",
    }
);

string_enum!(
    /// Where an alert stands: `open → acknowledged → closed` (or straight to closed).
    AlertStatus, "alert status" {
        Open = "open",
        Acknowledged = "acknowledged",
        Closed = "closed",
    }
);

impl AlertStatus {
    /// Whether an alert in `self` may move to `next`: only forward.
    pub fn may_become(self, next: Self) -> bool {
        matches!(
            (self, next),
            (Self::Open, Self::Acknowledged) | (Self::Open, Self::Closed) | (Self::Acknowledged, Self::Closed)
        )
    }
}

string_enum!(
    /// What a coach or an admin did with a user's data (`access_log.action`).
    AccessAction, "access action" {
        DashboardRead = "dashboard.read",
        InsightRead = "insight.read",
        AlertsRead = "alerts.read",
        AlertUpdated = "alert.updated",
        UserUpdated = "user.updated",
    }
);

string_enum!(
    /// Who an account is.
    Role, "role" {
        User = "user",
        Coach = "coach",
        Admin = "admin",
    }
);

string_enum!(
    /// What a user lets a coach see.
    ConsentScope, "consent scope" {
        /// Moods, sleep and the trends made from them.
        Trends = "trends",
        /// Analyses of the notes and the alerts made from them.
        Insights = "insights",
        /// Questionnaire results and assignments.
        Assessments = "assessments",
    }
);

string_enum!(
    /// The period a summary covers.
    Period, "period" {
        Daily = "daily",
        Weekly = "weekly",
    }
);

impl Period {
    /// Days the period covers.
    pub const fn days(self) -> u64 {
        match self {
            Self::Daily => 1,
            Self::Weekly => 7,
        }
    }
}

string_enum!(
    /// Why a model version ran without serving users.
    RunPurpose, "model run purpose" {
        /// A candidate beside the active models, on a share of live jobs.
        Shadow = "shadow",
        /// A past check-in re-analysed with another version.
        Backfill = "backfill",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_round_trips_through_its_string_and_serde() {
        fn check<T>(all: &[T])
        where
            T: Copy + fmt::Debug + PartialEq + FromStr + fmt::Display + serde::Serialize + serde::de::DeserializeOwned,
            <T as FromStr>::Err: fmt::Debug,
        {
            for v in all {
                let s = v.to_string();
                assert_eq!(s.parse::<T>().expect("parses"), *v);
                assert_eq!(serde_json::to_value(v).expect("json"), serde_json::Value::String(s.clone()));
                assert_eq!(serde_json::from_value::<T>(s.into()).expect("from json"), *v);
            }
        }
        check(AnalysisStatus::ALL);
        check(AlertType::ALL);
        check(Severity::ALL);
        check(AlertStatus::ALL);
        check(Role::ALL);
        check(AccessAction::ALL);
        check(ConsentScope::ALL);
        check(RunPurpose::ALL);
        check(Period::ALL);
    }

    #[test]
    fn an_unknown_string_is_refused_with_its_kind() {
        let err = "superuser".parse::<Role>().expect_err("unknown");
        assert_eq!(err.to_string(), "\"superuser\" is not a valid role");
    }

    #[test]
    fn alerts_only_move_forward() {
        use AlertStatus::*;
        assert!(Open.may_become(Acknowledged) && Open.may_become(Closed) && Acknowledged.may_become(Closed));
        for (a, b) in [(Acknowledged, Acknowledged), (Closed, Open), (Closed, Acknowledged), (Open, Open)] {
            assert!(!a.may_become(b), "{a} -> {b}");
        }
    }
}
