//! The `Idempotency-Key` header's value.

use crate::error::ApiError;

/// A key as the client sent it, trimmed: 1 to 255 bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// The header's value, if sent; 422 on `Idempotency-Key` when empty or too long.
    pub fn parse(header: Option<String>) -> Result<Option<Self>, ApiError> {
        match header.map(|k| k.trim().to_owned()) {
            Some(k) if k.is_empty() || k.len() > 255 => {
                Err(ApiError::field("Idempotency-Key", "must be 1 to 255 characters"))
            }
            other => Ok(other.map(Self)),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::IdempotencyKey;

    #[test]
    fn a_key_is_trimmed_and_must_hold_1_to_255_bytes() {
        assert_eq!(IdempotencyKey::parse(None).ok(), Some(None));
        assert_eq!(IdempotencyKey::parse(Some(" k1 ".into())).ok().flatten().map(|k| k.0), Some("k1".into()));
        assert!(IdempotencyKey::parse(Some("  ".into())).is_err());
        assert!(IdempotencyKey::parse(Some("x".repeat(256))).is_err());
        assert!(IdempotencyKey::parse(Some("x".repeat(255))).is_ok());
    }
}
