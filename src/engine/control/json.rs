//! Reading serde_json values with their JSON path, so every error says where it is.

use super::error::{Problem, ProjectError, Warning};
use serde_json::{Map, Value};

pub(crate) type Result<T> = std::result::Result<T, ProjectError>;

/// The JSON type of a value, for "expected X, found Y".
pub(crate) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

pub(crate) fn wrong(path: &str, expected: &'static str, found: &Value) -> ProjectError {
    ProjectError::at(
        path,
        Problem::WrongType {
            expected,
            found: kind(found),
        },
    )
}

/// An array at a path.
pub(crate) fn array<'a>(value: &'a Value, path: &str) -> Result<&'a Vec<Value>> {
    value.as_array().ok_or_else(|| wrong(path, "an array", value))
}

/// A JSON object with its path.
pub(crate) struct Obj<'a> {
    pub map: &'a Map<String, Value>,
    pub path: String,
}

impl<'a> Obj<'a> {
    pub fn new(value: &'a Value, path: impl Into<String>) -> Result<Self> {
        let path = path.into();
        match value {
            Value::Object(map) => Ok(Obj { map, path }),
            other => Err(wrong(&path, "an object", other)),
        }
    }

    /// The path of a key of this object.
    pub fn at(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    /// A key's value; `null` counts as absent (the app's optional fields are often null).
    pub fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    pub fn required(&self, key: &'static str) -> Result<&'a Value> {
        self.get(key)
            .ok_or_else(|| ProjectError::at(self.path.clone(), Problem::Missing(key)))
    }

    pub fn number(&self, key: &str) -> Result<Option<f64>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v.as_f64().map(Some).ok_or_else(|| wrong(&self.at(key), "a number", v)),
        }
    }

    /// A number in `[min, max]` (inclusive), or `default` when absent.
    pub fn number_in(&self, key: &str, default: f64, range: Range) -> Result<f64> {
        let value = self.number(key)?.unwrap_or(default);
        range.check(value, &self.at(key))
    }

    /// A required number in a range.
    pub fn required_number_in(&self, key: &'static str, range: Range) -> Result<f64> {
        let value = self.required(key)?;
        let number = value.as_f64().ok_or_else(|| wrong(&self.at(key), "a number", value))?;
        range.check(number, &self.at(key))
    }

    pub fn bool_or(&self, key: &str, default: bool) -> Result<bool> {
        match self.get(key) {
            None => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(v) => Err(wrong(&self.at(key), "true or false", v)),
        }
    }

    pub fn string(&self, key: &str) -> Result<Option<&'a str>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(v) => Err(wrong(&self.at(key), "a string", v)),
        }
    }

    pub fn required_string(&self, key: &'static str) -> Result<&'a str> {
        let value = self.required(key)?;
        value.as_str().ok_or_else(|| wrong(&self.at(key), "a string", value))
    }

    /// One of a fixed set of strings, as its index, or `default` when absent.
    pub fn choice(&self, key: &str, allowed: &[&str], default: usize) -> Result<usize> {
        match self.string(key)? {
            None => Ok(default),
            Some(s) => allowed.iter().position(|a| *a == s).ok_or_else(|| {
                ProjectError::at(
                    self.at(key),
                    Problem::UnknownValue {
                        value: s.to_string(),
                        allowed: allowed.join(", "),
                    },
                )
            }),
        }
    }

    /// An array (absent or null is empty).
    pub fn array(&self, key: &str) -> Result<&'a [Value]> {
        match self.get(key) {
            None => Ok(&[]),
            Some(v) => array(v, &self.at(key)).map(|a| a.as_slice()),
        }
    }

    /// A warning for every key not in `known` (the app's shapes carry fields the engine does not use, such as
    /// `color`; those are listed as known; anything else is probably a typo, reported but not fatal).
    pub fn warn_unknown(&self, known: &[&str], warnings: &mut Vec<Warning>) {
        for key in self.map.keys().filter(|k| !known.contains(&k.as_str())) {
            warnings.push(Warning {
                path: self.at(key),
                message: format!("unknown key '{key}' ignored (known: {})", known.join(", ")),
            });
        }
    }
}

/// An inclusive range of a number with its unit, for checks and messages.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Range {
    pub min: f64,
    pub max: f64,
    pub unit: &'static str,
}

impl Range {
    pub const fn new(min: f64, max: f64, unit: &'static str) -> Self {
        Range { min, max, unit }
    }

    pub fn contains(&self, value: f64) -> bool {
        value >= self.min && value <= self.max
    }

    pub fn check(&self, value: f64, path: &str) -> Result<f64> {
        if self.contains(value) {
            Ok(value)
        } else {
            Err(ProjectError::at(
                path,
                Problem::OutOfRange {
                    value,
                    min: self.min,
                    max: self.max,
                    unit: self.unit,
                },
            ))
        }
    }

    pub fn clamp(&self, value: f64) -> f64 {
        value.clamp(self.min, self.max)
    }

    /// The width of the range (for tolerances given as a fraction of it).
    pub fn span(&self) -> f64 {
        self.max - self.min
    }
}
