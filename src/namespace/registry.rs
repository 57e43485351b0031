//! The registry: the durable list of a manager's namespaces (`<root>/namespaces.json`).
//!
//! JSON (readable when debugging) with a checksum: `checksum` is the crc32 of the compact JSON of the
//! registry with `checksum` set to 0. It is replaced atomically (temporary file, fsync, rename,
//! directory fsync), so a crash leaves the old registry or the new one. A registry that does not
//! parse or fails its checksum is `Code::Corrupt`, never read as empty.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::names::{check_display_name, check_name};
use super::quota::Quotas;
use crate::error::{Error, Result};
use crate::storage::fsutil::write_atomically;

pub const REGISTRY_FILE: &str = "namespaces.json";
const REGISTRY_FORMAT_VERSION: u32 = 1;

/// Whether a namespace serves data calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Active,
    Suspended,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Suspended => "suspended",
        }
    }
}

/// What the registry keeps about one namespace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamespaceRecord {
    pub id: String,
    /// Display name (free text).
    pub name: String,
    pub quotas: Quotas,
    pub status: Status,
    /// Unix seconds.
    pub created_at: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RegistryFile {
    format_version: u32,
    namespaces: Vec<NamespaceRecord>,
    checksum: u32,
}

impl RegistryFile {
    fn compute_checksum(&self) -> u32 {
        let mut r = self.clone();
        r.checksum = 0;
        crc32fast::hash(&serde_json::to_vec(&r).expect("registry serialises"))
    }
}

/// Reads the registry of `root`; `Ok(None)` when there is none.
pub fn load(root: &Path) -> Result<Option<Vec<NamespaceRecord>>> {
    let path = root.join(REGISTRY_FILE);
    let Some(bytes) = crate::storage::fsutil::read_if_exists(&path)? else { return Ok(None) };
    let file: RegistryFile = serde_json::from_slice(&bytes).map_err(|e| Error::corrupt(&path, e))?;
    if file.format_version != REGISTRY_FORMAT_VERSION {
        return Err(Error::corrupt(
            &path,
            format!(
                "format version {} is not supported (this library reads version {REGISTRY_FORMAT_VERSION})",
                file.format_version
            ),
        ));
    }
    if file.compute_checksum() != file.checksum {
        return Err(Error::corrupt(&path, "checksum mismatch: the namespace registry is damaged"));
    }
    let mut seen = std::collections::HashSet::new();
    for r in &file.namespaces {
        // Never trust a name read from disk to be a safe directory name.
        check_name(&r.id, "namespace id").map_err(|e| Error::corrupt(&path, e.message))?;
        check_display_name(&r.name).map_err(|e| Error::corrupt(&path, e.message))?;
        r.quotas.validate().map_err(|e| Error::corrupt(&path, e.message))?;
        if !seen.insert(r.id.as_str()) {
            return Err(Error::corrupt(&path, format!("namespace {} is listed twice", r.id)));
        }
    }
    Ok(Some(file.namespaces))
}

/// Replaces the registry of `root` with `namespaces`, atomically and durably.
pub fn save(root: &Path, namespaces: Vec<NamespaceRecord>) -> Result<()> {
    let mut file = RegistryFile { format_version: REGISTRY_FORMAT_VERSION, namespaces, checksum: 0 };
    file.checksum = file.compute_checksum();
    let text = serde_json::to_vec_pretty(&file).expect("registry serialises");
    write_atomically(&root.join(REGISTRY_FILE), &text)
}

#[cfg(test)]
mod tests;
