//! A record's metadata as a map of JSON values.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{Code, Error, Result};
use crate::store::record::{metadata_text, parse_metadata};

/// A record's metadata: field name to JSON value.
///
/// Values are strings, numbers, booleans, null, or lists of those (what the filter language
/// compares); the store refuses anything else when the metadata is written, with the same
/// `InvalidArgument` error a C caller gets for the same JSON. `Metadata::default()` (or
/// `Metadata { fields: HashMap::new() }`) is "no metadata".
///
/// ```
/// use vecstore::Metadata;
///
/// let mut m = Metadata::default();
/// m.insert("category", "tech");
/// m.insert("year", 2024);
/// m.insert("tags", vec!["rust", "db"]);
/// assert_eq!(m.to_json(), r#"{"category":"tech","tags":["rust","db"],"year":2024}"#);
/// assert_eq!(Metadata::from_json(&m.to_json()).unwrap(), m);
///
/// let nested = Metadata::from_json(r#"{"a": {"b": 1}}"#).unwrap_err();
/// assert_eq!(nested.code, vecstore::Code::InvalidArgument);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Metadata {
    /// The fields. Serialises as the JSON object itself.
    pub fields: HashMap<String, Value>,
}

impl Metadata {
    /// No fields.
    pub fn new() -> Metadata {
        Metadata::default()
    }

    /// Sets a field, returning its previous value.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<Value>) -> Option<Value> {
        self.fields.insert(key.into(), value.into())
    }

    /// `self` with a field set, for building metadata in one expression:
    /// `Metadata::new().with("category", "tech").with("year", 2024)`.
    pub fn with(mut self, key: impl Into<String>, value: impl Into<Value>) -> Metadata {
        self.insert(key, value);
        self
    }

    /// The value of a field.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.fields.get(key)
    }

    /// Whether there are no fields.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Parses metadata JSON text, checked as the store checks what it is given: `InvalidArgument`
    /// for text that is not a JSON object or holds a nested object (the message a C caller gets).
    /// An empty string is no metadata.
    pub fn from_json(text: &str) -> Result<Metadata> {
        Ok(Metadata::from_map(parse_metadata(Some(text))?))
    }

    /// The canonical JSON text the store keeps: compact, keys sorted, `{}` when empty.
    pub fn to_json(&self) -> String {
        let map: Map<String, Value> = self.fields.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        metadata_text(&map)
    }

    /// The text a core write takes (`None` = no metadata).
    pub(crate) fn to_core(&self) -> Option<String> {
        if self.fields.is_empty() {
            None
        } else {
            // The core checks the fields and makes the text canonical.
            Some(serde_json::to_string(&self.fields).expect("a map of JSON values serialises"))
        }
    }

    /// Metadata from the canonical JSON text the core returns with every record.
    pub(crate) fn from_core(text: &str) -> Result<Metadata> {
        if text == "{}" {
            return Ok(Metadata::default());
        }
        serde_json::from_str(text).map(|fields| Metadata { fields }).map_err(|e| {
            Error::new(Code::Internal, format!("stored metadata is not a JSON object ({e}): {text}"))
        })
    }

    fn from_map(map: Map<String, Value>) -> Metadata {
        Metadata { fields: map.into_iter().collect() }
    }
}

impl From<HashMap<String, Value>> for Metadata {
    fn from(fields: HashMap<String, Value>) -> Metadata {
        Metadata { fields }
    }
}

impl<K: Into<String>, V: Into<Value>> FromIterator<(K, V)> for Metadata {
    /// `Metadata::from_iter([("category", "tech")])`, or `.collect()` from pairs.
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Metadata {
        Metadata { fields: iter.into_iter().map(|(k, v)| (k.into(), v.into())).collect() }
    }
}
