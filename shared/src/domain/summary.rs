//! The text of a summary, made from its metrics by one template, so the
//! worker (which writes it, with the period's quotes) and the API (which shows
//! a `trends`-only coach the template part alone) say the same thing.
//!
//! Note-derived parts — the strongest feeling, sentiment, emotions and the
//! quotes — are what the `insights` scope adds ([`for_numbers_only`]).

use chrono::NaiveDate;
use serde_json::Value;

use super::kinds::Period;

/// Sleep each night is measured against, for the sleep debt.
pub const SLEEP_TARGET_HOURS: f64 = 8.0;

/// What the text says beside the numbers.
#[derive(Debug, Clone, Copy, Default)]
pub struct Words<'a> {
    /// The period's most representative sentences of the user's own notes
    /// (never one the crisis detector flags).
    pub quotes: &'a [String],
    /// Set when the period's notes hold crisis language: the text says a hard
    /// moment was noted and where to find help, instead of quoting it.
    pub crisis_resources: Option<&'a str>,
}

/// The summary text of `period` starting on `start`, from its `metrics`.
pub fn render(period: Period, start: NaiveDate, metrics: &Value, words: Words<'_>) -> String {
    let what = match period {
        Period::Daily => format!("On {start}"),
        Period::Weekly => format!("The week of {start}"),
    };
    let count = metrics["checkins"].as_u64().unwrap_or(0);
    let plural = if count == 1 { "" } else { "s" };
    let mut text = format!(
        "{what}: {count} check-in{plural}, mood averaging {:.1}/10 and {:.1} h of sleep",
        metrics["mood"]["avg"].as_f64().unwrap_or(0.0),
        metrics["sleep"]["avg"].as_f64().unwrap_or(0.0)
    );
    let sleep_debt = metrics["sleep_debt_hours"].as_f64().unwrap_or(0.0);
    if sleep_debt >= 1.0 {
        text.push_str(&format!(" ({sleep_debt:.1} h short of {SLEEP_TARGET_HOURS:.0} h a night)"));
    }
    text.push('.');
    if let Some(change) = metrics["change"]["mood_avg"].as_f64().filter(|c| c.abs() >= 0.5) {
        let dir = if change > 0.0 { "up" } else { "down" };
        text.push_str(&format!(" Mood is {dir} {:.1} on the period before.", change.abs()));
    }
    if let Some(e) = metrics["top_emotion"].as_str() {
        text.push_str(&format!(" The strongest feeling in your notes: {e}."));
    }
    if !words.quotes.is_empty() {
        let q: Vec<String> = words.quotes.iter().map(|q| format!("“{q}”")).collect();
        text.push_str(&format!(" In your words: {}.", q.join(" ")));
    }
    if let Some(help) = words.crisis_resources {
        text.push_str(&format!(" Your notes mentioned a very hard moment; you do not have to face it alone. {help}"));
    }
    text
}

/// The metrics without what is made from the notes (sentiment, emotions, the
/// strongest feeling): what the `trends` scope shows.
pub fn for_numbers_only(metrics: &Value) -> Value {
    let mut m = metrics.clone();
    if let Some(o) = m.as_object_mut() {
        for key in ["sentiment", "emotions", "top_emotion"] {
            o.remove(key);
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn metrics() -> Value {
        json!({
            "checkins": 3,
            "mood": {"avg": 4.333, "min": 3, "max": 6},
            "sleep": {"avg": 6.0},
            "sleep_debt_hours": 6.0,
            "change": {"mood_avg": -1.25},
            "top_emotion": "sadness",
            "emotions": {"sadness": 0.5},
            "sentiment": {"negative": 2},
        })
    }

    #[test]
    fn the_text_reads_the_numbers_the_feeling_and_the_quotes() {
        let quotes = ["I walked by the river".to_owned()];
        let day = NaiveDate::from_ymd_opt(2026, 11, 30).expect("date");
        let text = render(Period::Weekly, day, &metrics(), Words { quotes: &quotes, crisis_resources: None });
        assert_eq!(
            text,
            "The week of 2026-11-30: 3 check-ins, mood averaging 4.3/10 and 6.0 h of sleep (6.0 h short of 8 h a \
             night). Mood is down 1.2 on the period before. The strongest feeling in your notes: sadness. In your \
             words: “I walked by the river”."
        );
    }

    #[test]
    fn numbers_only_keep_no_word_of_the_notes() {
        let day = NaiveDate::from_ymd_opt(2026, 11, 30).expect("date");
        let m = for_numbers_only(&metrics());
        assert!(m.get("emotions").is_none() && m.get("sentiment").is_none() && m.get("top_emotion").is_none());
        let text = render(Period::Daily, day, &m, Words::default());
        assert!(!text.contains("feeling") && !text.contains("words"), "{text}");
        assert!(text.starts_with("On 2026-11-30: 3 check-ins"), "{text}");
    }

    #[test]
    fn a_crisis_is_noted_with_help_never_quoted() {
        let day = NaiveDate::from_ymd_opt(2026, 11, 30).expect("date");
        let words = Words { quotes: &[], crisis_resources: Some("Call 988.") };
        let text = render(Period::Daily, day, &metrics(), words);
        assert!(text.ends_with("very hard moment; you do not have to face it alone. Call 988."), "{text}");
    }
}
