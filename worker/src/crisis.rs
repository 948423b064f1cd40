//! A conservative phrase detector for self-harm and suicidal language.
//!
//! It needs no model, so it runs first and even when inference fails. It errs
//! towards raising an alert: a missed crisis costs more than a false alarm.

/// Phrases that, found in a note after normalisation, raise a critical alert.
const PHRASES: &[&str] = &[
    "kill myself",
    "killing myself",
    "end my life",
    "ending my life",
    "end it all",
    "take my own life",
    "taking my own life",
    "take my life",
    "suicide",
    "suicidal",
    "want to die",
    "wanna die",
    "wish i was dead",
    "wish i were dead",
    "better off dead",
    "better off without me",
    "no reason to live",
    "nothing to live for",
    "dont want to live",
    "do not want to live",
    "dont want to be alive",
    "do not want to be alive",
    "dont want to wake up",
    "hurt myself",
    "hurting myself",
    "harm myself",
    "harming myself",
    "self harm",
    "selfharm",
    "cut myself",
    "cutting myself",
    "overdose",
    "not be here anymore",
    "not worth living",
];

/// Lower-cases, drops apostrophes and turns every other non-alphanumeric run
/// into one space, so "Don't   want to LIVE!" reads "dont want to live".
fn normalise(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push(' ');
    let mut space = true;
    for c in text.chars().flat_map(char::to_lowercase) {
        if c == '\'' || c == '’' {
            continue;
        }
        if c.is_alphanumeric() {
            out.push(c);
            space = false;
        } else if !space {
            out.push(' ');
            space = true;
        }
    }
    if !space {
        out.push(' ');
    }
    out
}

/// The crisis phrases found in `text` (empty when none).
pub fn detect(text: &str) -> Vec<&'static str> {
    let norm = normalise(text);
    PHRASES.iter().copied().filter(|phrase| norm.contains(&format!(" {phrase} "))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_phrases_whatever_the_case_and_punctuation() {
        assert_eq!(detect("I want to END my life."), vec!["end my life"]);
        assert_eq!(detect("i don't want to live anymore"), vec!["dont want to live"]);
        assert_eq!(detect("thinking about self-harm again"), vec!["self harm"]);
    }

    #[test]
    fn ignores_ordinary_notes_and_word_fragments() {
        assert!(detect("Great run this morning, slept well").is_empty());
        assert!(detect("the suicidesquad movie").is_empty());
        assert!(detect("").is_empty());
    }
}
