//! Typed reads of a JSON object's fields that record every bad one, for
//! [`super::FromJson`] implementations.

use serde_json::{Map, Value};

use crate::error::FieldErrors;

/// Reads typed fields out of a JSON object, recording every error.
#[derive(Debug)]
pub struct Fields<'a> {
    obj: &'a Map<String, Value>,
    errors: FieldErrors,
}

impl<'a> Fields<'a> {
    /// Fields of `obj`, no error yet.
    pub(super) fn new(obj: &'a Map<String, Value>) -> Self {
        Self { obj, errors: FieldErrors::new() }
    }

    /// Every error recorded.
    pub(super) fn into_errors(self) -> FieldErrors {
        self.errors
    }

    /// Records an error for `name`.
    pub fn error(&mut self, name: &str, reason: impl Into<String>) {
        self.errors.entry(name.to_owned()).or_insert_with(|| reason.into());
    }

    fn get(&self, name: &str) -> Option<Value> {
        self.obj.get(name).filter(|v| !v.is_null()).cloned()
    }

    /// A required string.
    pub fn string(&mut self, name: &str) -> Option<String> {
        match self.get(name) {
            None => {
                self.error(name, "is required");
                None
            }
            Some(v) => self.as_string(name, &v),
        }
    }

    /// An optional string (absent or null: `None`).
    pub fn opt_string(&mut self, name: &str) -> Option<Option<String>> {
        match self.get(name) {
            None => Some(None),
            Some(v) => self.as_string(name, &v).map(Some),
        }
    }

    /// PostgreSQL text cannot hold NUL, so no string field may carry one.
    fn as_string(&mut self, name: &str, v: &Value) -> Option<String> {
        match v.as_str() {
            Some(s) if s.contains('\0') => {
                self.error(name, "must not contain NUL characters");
                None
            }
            Some(s) => Some(s.to_owned()),
            None => {
                self.error(name, "must be a string");
                None
            }
        }
    }

    /// A required integer.
    pub fn int(&mut self, name: &str) -> Option<i64> {
        match self.get(name) {
            None => {
                self.error(name, "is required");
                None
            }
            Some(v) => {
                let n = v.as_i64().or_else(|| {
                    v.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 9e15).map(|f| {
                        #[expect(clippy::cast_possible_truncation, reason = "checked: a whole number in range")]
                        let n = f as i64;
                        n
                    })
                });
                if n.is_none() {
                    self.error(name, "must be an integer");
                }
                n
            }
        }
    }

    /// A required number.
    pub fn number(&mut self, name: &str) -> Option<f64> {
        match self.get(name) {
            None => {
                self.error(name, "is required");
                None
            }
            Some(v) => {
                let n = v.as_f64();
                if n.is_none() {
                    self.error(name, "must be a number");
                }
                n
            }
        }
    }

    /// An optional boolean.
    pub fn opt_bool(&mut self, name: &str) -> Option<Option<bool>> {
        match self.get(name) {
            None => Some(None),
            Some(Value::Bool(b)) => Some(Some(b)),
            Some(_) => {
                self.error(name, "must be true or false");
                None
            }
        }
    }

    /// An optional JSON object.
    pub fn opt_object(&mut self, name: &str) -> Option<Option<Map<String, Value>>> {
        match self.get(name) {
            None => Some(None),
            Some(Value::Object(m)) => Some(Some(m)),
            Some(_) => {
                self.error(name, "must be an object");
                None
            }
        }
    }

    /// The raw value of an optional field.
    pub fn raw(&self, name: &str) -> Option<Value> {
        self.get(name)
    }
}
