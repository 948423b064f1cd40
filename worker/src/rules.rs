//! The default alert rules: which alerts one analysed check-in raises.

use mindwell_shared::domain::{AlertType, Severity};
use serde_json::{Value, json};

use crate::config::AlertRules;

/// An alert to write, before it has an id.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertDraft {
    pub kind: AlertType,
    pub severity: Severity,
    pub payload: Value,
}

/// The user's check-ins of the 7 days before this one.
#[derive(Debug, Clone, Default)]
pub struct History {
    pub moods: Vec<f64>,
    pub sleeps: Vec<f64>,
}

impl History {
    pub fn mood_avg(&self) -> Option<f64> {
        mean(&self.moods)
    }
    pub fn sleep_avg(&self) -> Option<f64> {
        mean(&self.sleeps)
    }
}

fn mean(v: &[f64]) -> Option<f64> {
    #[expect(clippy::cast_precision_loss, reason = "a handful of check-ins")]
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

/// Alerts that need no model: low sleep, a mood drop, crisis language.
pub fn rule_alerts(
    mood: i16,
    sleep_hours: f64,
    crisis: &[&str],
    history: &History,
    rules: &AlertRules,
) -> Vec<AlertDraft> {
    let mut out = Vec::new();
    if sleep_hours < rules.low_sleep_hours {
        let critical = sleep_hours < rules.critical_sleep_hours;
        out.push(AlertDraft {
            kind: AlertType::LowSleep,
            severity: if critical { Severity::Critical } else { Severity::Warning },
            payload: json!({
                "sleep_hours": sleep_hours,
                "threshold_hours": if critical { rules.critical_sleep_hours } else { rules.low_sleep_hours },
            }),
        });
    }
    if let Some(avg) = history.mood_avg() {
        let drop = avg - f64::from(mood);
        if drop >= rules.mood_drop {
            out.push(AlertDraft {
                kind: AlertType::MoodDrop,
                severity: Severity::Warning,
                payload: json!({
                    "mood": mood,
                    "previous_7d_avg": (avg * 100.0).round() / 100.0,
                    "drop": (drop * 100.0).round() / 100.0,
                    "threshold": rules.mood_drop,
                }),
            });
        }
    }
    if !crisis.is_empty() {
        out.push(AlertDraft {
            kind: AlertType::CrisisLanguage,
            severity: Severity::Critical,
            payload: json!({
                "matched": crisis,
                "detector": "phrase",
                "resources": rules.crisis_resources,
            }),
        });
    }
    out
}

/// The model-based alert: high stress.
pub fn stress_alert(stress_level: &str, risk_score: f64) -> Option<AlertDraft> {
    (stress_level == "high").then(|| AlertDraft {
        kind: AlertType::HighStress,
        severity: Severity::Warning,
        payload: json!({ "stress_level": stress_level, "risk_score": risk_score }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(v: &[AlertDraft]) -> Vec<(&str, &str)> {
        v.iter().map(|a| (a.kind.as_str(), a.severity.as_str())).collect()
    }

    #[test]
    fn sleep_below_five_warns_and_below_three_is_critical() {
        let r = AlertRules::default();
        let h = History::default();
        assert_eq!(kinds(&rule_alerts(6, 4.9, &[], &h, &r)), vec![("low_sleep", "warning")]);
        assert_eq!(kinds(&rule_alerts(6, 2.5, &[], &h, &r)), vec![("low_sleep", "critical")]);
        assert!(rule_alerts(6, 5.0, &[], &h, &r).is_empty());
    }

    #[test]
    fn mood_three_below_the_weekly_average_is_a_drop() {
        let r = AlertRules::default();
        let h = History { moods: vec![8.0, 7.0], sleeps: vec![7.0, 7.0] };
        assert_eq!(kinds(&rule_alerts(4, 7.0, &[], &h, &r)), vec![("mood_drop", "warning")]);
        assert!(rule_alerts(5, 7.0, &[], &h, &r).is_empty());
        assert!(rule_alerts(1, 7.0, &[], &History::default(), &r).is_empty());
    }

    #[test]
    fn crisis_language_is_critical_and_carries_resources() {
        let r = AlertRules::default();
        let a = rule_alerts(5, 7.0, &["end my life"], &History::default(), &r);
        assert_eq!(kinds(&a), vec![("crisis_language", "critical")]);
        assert_eq!(a[0].payload["resources"], json!(r.crisis_resources));
    }
}
