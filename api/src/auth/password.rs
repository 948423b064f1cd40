//! Emails and passwords that cannot exist unless valid, and bcrypt off the async threads.

use base64::Engine;
use sha2::{Digest, Sha256};

use crate::error::{ApiError, failure};

/// A syntactically valid email, lower-cased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let email = raw.trim().to_lowercase();
        let Some((local, domain)) = email.split_once('@') else {
            return Err("must be a valid email address");
        };
        let valid = !local.is_empty()
            && local.len() <= 64
            && email.len() <= 254
            && !domain.contains('@')
            && domain.contains('.')
            && domain
                .split('.')
                .all(|label| !label.is_empty() && label.chars().all(|c| c.is_alphanumeric() || c == '-'))
            && !email.chars().any(|c| c.is_whitespace() || c.is_control());
        if valid { Ok(Self(email)) } else { Err("must be a valid email address") }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A password of 8 to 128 characters.
#[derive(Clone)]
pub struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password([redacted])")
    }
}

impl Password {
    pub fn parse(raw: String) -> Result<Self, &'static str> {
        match raw.chars().count() {
            0..8 => Err("must be at least 8 characters"),
            8..=128 => Ok(Self(raw)),
            _ => Err("must be at most 128 characters"),
        }
    }

    /// A password being set (signup, change, reset): [`Password::parse`]'s
    /// rule, and not one of the 10,000 most common passwords
    /// (`api/assets/README.md`), compared case-insensitively. Logins keep
    /// [`Password::parse`], so existing accounts keep working.
    pub fn parse_new(raw: String) -> Result<Self, &'static str> {
        let password = Self::parse(raw)?;
        if common_passwords().contains(password.0.to_lowercase().as_str()) {
            return Err("is one of the most common passwords: choose one that is harder to guess");
        }
        Ok(password)
    }

    /// bcrypt reads at most 72 bytes, so the password is first reduced to a
    /// fixed-length digest: all 128 characters count.
    fn prehashed(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(self.0.as_bytes()))
    }
}

/// The 10,000 most common passwords, lower-case.
fn common_passwords() -> &'static std::collections::HashSet<&'static str> {
    static LIST: std::sync::OnceLock<std::collections::HashSet<&'static str>> = std::sync::OnceLock::new();
    LIST.get_or_init(|| include_str!("../../assets/common-passwords.txt").lines().collect())
}

/// At most one bcrypt run per core at a time: a login flood queues here
/// instead of spawning hundreds of blocking threads that starve each other.
fn bcrypt_slots() -> &'static tokio::sync::Semaphore {
    static SLOTS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    SLOTS.get_or_init(|| {
        tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get))
    })
}

/// Runs `f` on the blocking pool once a bcrypt slot is free.
async fn with_slot<T: Send + 'static>(
    what: &'static str,
    f: impl FnOnce() -> Result<T, bcrypt::BcryptError> + Send + 'static,
) -> Result<T, ApiError> {
    let _slot = bcrypt_slots().acquire().await.map_err(|e| ApiError::Internal(failure("bcrypt slots", e)))?;
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::Internal(failure(what, e)))?
        .map_err(|e| ApiError::Internal(failure("bcrypt", e)))
}

/// Hashes `password` with bcrypt at `cost`.
pub async fn hash(password: Password, cost: u32) -> Result<String, ApiError> {
    with_slot("hash task", move || bcrypt::hash(password.prehashed(), cost)).await
}

/// Checks `password` against `hash`.
pub async fn verify(password: Password, hash: String) -> Result<bool, ApiError> {
    with_slot("verify task", move || bcrypt::verify(password.prehashed(), &hash)).await
}

/// The cost a bcrypt hash was made with (`$2b$12$…` → 12); `None` when `hash`
/// is not a bcrypt hash.
pub fn cost(hash: &str) -> Option<u32> {
    let mut parts = hash.split('$');
    let (Some(""), Some(_version), Some(cost)) = (parts.next(), parts.next(), parts.next()) else {
        return None;
    };
    cost.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_lower_cased() {
        assert_eq!(Email::parse(" Ada@Example.COM ").map(|e| e.0), Ok("ada@example.com".into()));
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a b@example.com",
            "ada@@example.com",
            "ada@exa_mple.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn the_cost_is_read_from_a_bcrypt_hash() {
        let hash = bcrypt::hash("pw", 5).expect("hash");
        assert_eq!(cost(&hash), Some(5));
        assert_eq!(cost("$2b$12$abcdefghijklmnopqrstuv"), Some(12));
        assert_eq!(cost("not a hash"), None);
        assert_eq!(cost(""), None);
    }

    #[test]
    fn passwords_must_have_8_to_128_characters() {
        assert!(Password::parse("1234567".into()).is_err());
        assert!(Password::parse("12345678".into()).is_ok());
        assert!(Password::parse("é".repeat(128)).is_ok());
        assert!(Password::parse("x".repeat(129)).is_err());
    }

    #[test]
    fn a_new_password_may_not_be_a_common_one_whatever_its_case() {
        assert_eq!(common_passwords().len(), 10_000);
        for common in ["password123", "PassWord123", "iloveyou", "qwertyuiop"] {
            assert!(Password::parse_new(common.into()).is_err(), "{common}");
            assert!(Password::parse(common.into()).is_ok(), "{common} still signs in");
        }
        assert!(Password::parse_new("correct horse battery".into()).is_ok());
    }
}
