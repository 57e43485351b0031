//! The store's description file (`vecstore.meta.json`): format version, dimension, metric and index
//! parameters. Small, human-readable, replaced atomically (through `storage::fsutil`).

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::compact::CompactionConfig;
use crate::error::{Error, Result};
use crate::index::Metric;
use crate::storage::fsutil::{read_if_exists, write_atomically};

pub const META_FILE: &str = "vecstore.meta.json";
pub(crate) const META_FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    pub format_version: u32,
    /// 0 until the first vector fixes it.
    pub dimension: usize,
    pub metric: Metric,
    pub hnsw_m: usize,
    pub ef_construction: usize,
    pub ef_search: usize,
    /// When `maybe_compact` compacts. Absent from files written before it existed (defaults).
    #[serde(default)]
    pub compaction: CompactionConfig,
}

impl Meta {
    pub fn load(dir: &Path) -> Result<Option<Meta>> {
        let path = dir.join(META_FILE);
        let Some(bytes) = read_if_exists(&path)? else { return Ok(None) };
        let meta: Meta = serde_json::from_slice(&bytes).map_err(|e| Error::corrupt(&path, e))?;
        if meta.format_version != META_FORMAT_VERSION {
            return Err(Error::corrupt(
                &path,
                format!(
                    "format version {} is not supported (this library reads version {META_FORMAT_VERSION})",
                    meta.format_version
                ),
            ));
        }
        Ok(Some(meta))
    }

    pub fn save(&self, dir: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self).expect("meta serialises");
        write_atomically(&dir.join(META_FILE), text.as_bytes())
    }
}
