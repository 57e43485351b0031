//! What a record is made of, and the checks every value goes through before it reaches the store:
//! ids, vectors and metadata.

use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// Longest id accepted, in bytes.
pub(crate) const MAX_ID_BYTES: usize = 4096;

/// A record as returned by `get` and `query`.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub id: String,
    pub vector: Vec<f32>,
    /// The metadata as compact JSON text of an object (`{}` when empty).
    pub metadata: String,
}

/// One query hit: the id, its score (higher = more similar) and its metadata as JSON text.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub id: String,
    pub score: f32,
    pub metadata: String,
}

pub fn check_id(id: &str) -> Result<()> {
    if id.is_empty() {
        return Err(Error::invalid("id must not be empty"));
    }
    if id.len() > MAX_ID_BYTES {
        return Err(Error::invalid(format!("id is {} bytes long, the limit is {MAX_ID_BYTES}", id.len())));
    }
    if id.contains('\0') {
        return Err(Error::invalid("id must not contain a NUL character"));
    }
    Ok(())
}

/// Rejects NaN and infinities: one of them would poison every score it touches.
pub fn check_finite(vector: &[f32], what: &str) -> Result<()> {
    if let Some(pos) = vector.iter().position(|x| !x.is_finite()) {
        return Err(Error::invalid(format!(
            "{what} has a non-finite value ({}) at index {pos}",
            vector[pos]
        )));
    }
    Ok(())
}

/// Parses metadata JSON text into canonical compact text. `None` or an empty string means `{}`.
///
/// Metadata is a JSON object whose values are strings, numbers, booleans, null, or lists of those
/// (the values the filter language can compare). Anything else is `InvalidArgument`.
pub fn canonical_metadata(json: Option<&str>) -> Result<String> {
    Ok(metadata_text(&parse_metadata(json)?))
}

/// Parses and checks metadata JSON text (see [`canonical_metadata`]) into the object the store keeps
/// in memory, so that filters run on it without parsing text per record.
pub fn parse_metadata(json: Option<&str>) -> Result<Map<String, Value>> {
    let text = match json {
        None => return Ok(Map::new()),
        // "{}" is what most records without metadata carry (and every one in a snapshot): skip the
        // parser for it.
        Some(t) if t == "{}" || t.trim().is_empty() => return Ok(Map::new()),
        Some(t) => t,
    };
    let value: Value =
        serde_json::from_str(text).map_err(|e| Error::invalid(format!("metadata is not valid JSON: {e}")))?;
    let Value::Object(map) = value else {
        return Err(Error::invalid("metadata must be a JSON object, like {\"key\": \"value\"}"));
    };
    check_metadata_fields(&map)?;
    Ok(map)
}

/// The canonical text of parsed metadata: compact, keys sorted (serde_json's map is ordered by key).
pub fn metadata_text(map: &Map<String, Value>) -> String {
    if map.is_empty() {
        return "{}".to_string();
    }
    serde_json::to_string(map).expect("a JSON map serialises")
}

fn check_metadata_fields(map: &Map<String, Value>) -> Result<()> {
    for (key, value) in map {
        let ok = match value {
            Value::Object(_) => false,
            Value::Array(items) => items.iter().all(|v| !matches!(v, Value::Object(_) | Value::Array(_))),
            _ => true,
        };
        if !ok {
            return Err(Error::invalid(format!(
                "metadata field {key:?}: values must be strings, numbers, booleans, null, or lists of those"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
