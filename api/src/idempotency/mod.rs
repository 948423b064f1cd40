//! `Idempotency-Key`: the same key and body within 24 h answer as the first
//! request did, and nothing is created twice (zero2prod's `idempotency/`).
//!
//! A handler parses the header with [`Idempotent::from_header`], answers a
//! [`Idempotent::replay`] when there is one, and otherwise stores its answer
//! with [`Idempotent::save`] in the transaction that creates what it answers
//! about; when another request saved the key first, [`Idempotent::taken`]
//! gives that request's answer (or the conflict).

mod key;
mod persistence;

pub use self::persistence::Idempotent;
