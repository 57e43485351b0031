//! Authentication and authorisation: the admin token, and API keys per namespace.
//!
//! A request carries `Authorization: Bearer <token>` or `api-key: <token>`. The admin token may do
//! everything; a namespace key only reaches its own namespace's data routes, and a `read_only` key
//! only the reading ones (query, explain, estimate, get, stats). Without an admin token the server
//! serves loopback only and checks nothing (a key presented is still honoured: it names the
//! namespace of `/v1/...` routes, and a key that matches nothing is refused).
//!
//! Keys look like `vsk_<key_id>_<secret>` (a 12-hex-digit id, 256 random bits of secret). They are
//! shown once, when created; the server keeps only their SHA-256 (a key is random, so a fast hash
//! is as good as a slow one) in `<namespace-root>/server-keys.json`, written atomically. Hashes and
//! the admin token are compared in constant time (`subtle`).

use std::path::PathBuf;

use parking_lot::RwLock;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::error::{ApiError, ServerCode};
use crate::error::{Code, Error, Result};

pub const KEYS_FILE: &str = "server-keys.json";

/// What a namespace key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    ReadWrite,
    ReadOnly,
}

/// A key as stored: never the key itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyEntry {
    pub key_id: String,
    pub namespace: String,
    pub role: Role,
    /// Lowercase hex SHA-256 of the whole key text.
    pub sha256: String,
    pub created_at: u64,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeysFile {
    format_version: u32,
    keys: Vec<KeyEntry>,
}

/// The API keys of a namespace root.
pub struct KeyStore {
    path: PathBuf,
    keys: RwLock<Vec<KeyEntry>>,
}

fn sha256_hex(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn random_hex(bytes: usize) -> Result<String> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf)
        .map_err(|e| Error::new(Code::Internal, format!("the OS random source failed: {e}")))?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

fn now_unix() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

impl KeyStore {
    /// Loads `<root>/server-keys.json` (none yet: no keys).
    pub fn open(root: &std::path::Path) -> Result<KeyStore> {
        let path = root.join(KEYS_FILE);
        let keys = match crate::storage::fsutil::read_if_exists(&path)? {
            None => Vec::new(),
            Some(bytes) => {
                let file: KeysFile = serde_json::from_slice(&bytes).map_err(|e| Error::corrupt(&path, e))?;
                if file.format_version != 1 {
                    return Err(Error::corrupt(
                        &path,
                        format!("format version {} is unknown", file.format_version),
                    ));
                }
                file.keys
            }
        };
        Ok(KeyStore { path, keys: RwLock::new(keys) })
    }

    fn save(&self, keys: &[KeyEntry]) -> Result<()> {
        let file = KeysFile { format_version: 1, keys: keys.to_vec() };
        let bytes = serde_json::to_vec_pretty(&file).expect("keys serialise");
        crate::storage::fsutil::write_atomically(&self.path, &bytes)
    }

    /// Creates a key for `namespace`; returns its entry and the key text (the only time it exists).
    pub fn create(&self, namespace: &str, role: Role) -> Result<(KeyEntry, String)> {
        let key_id = random_hex(6)?;
        let key = format!("vsk_{key_id}_{}", random_hex(32)?);
        let entry = KeyEntry {
            key_id,
            namespace: namespace.to_string(),
            role,
            sha256: sha256_hex(&key),
            created_at: now_unix(),
        };
        let mut keys = self.keys.write();
        let mut next = keys.clone();
        next.push(entry.clone());
        self.save(&next)?;
        *keys = next;
        Ok((entry, key))
    }

    pub fn list(&self, namespace: &str) -> Vec<KeyEntry> {
        self.keys.read().iter().filter(|k| k.namespace == namespace).cloned().collect()
    }

    /// Removes one key of `namespace` (`NotFound` if it has no such key).
    pub fn delete(&self, namespace: &str, key_id: &str) -> Result<()> {
        let mut keys = self.keys.write();
        let next: Vec<KeyEntry> =
            keys.iter().filter(|k| !(k.namespace == namespace && k.key_id == key_id)).cloned().collect();
        if next.len() == keys.len() {
            return Err(Error::new(
                Code::NotFound,
                format!("key not found: {key_id} (namespace {namespace})"),
            ));
        }
        self.save(&next)?;
        *keys = next;
        Ok(())
    }

    /// Removes every key of a deleted namespace.
    pub fn delete_namespace(&self, namespace: &str) -> Result<()> {
        let mut keys = self.keys.write();
        let next: Vec<KeyEntry> = keys.iter().filter(|k| k.namespace != namespace).cloned().collect();
        if next.len() != keys.len() {
            self.save(&next)?;
            *keys = next;
        }
        Ok(())
    }

    /// The key this text is, if any (hash compared in constant time).
    pub fn verify(&self, presented: &str) -> Option<KeyEntry> {
        let key_id = presented.strip_prefix("vsk_")?.split('_').next()?;
        let hash = sha256_hex(presented);
        let keys = self.keys.read();
        keys.iter()
            .filter(|k| k.key_id == key_id)
            .find(|k| bool::from(k.sha256.as_bytes().ct_eq(hash.as_bytes())))
            .cloned()
    }
}

/// Who is calling.
#[derive(Debug, Clone)]
pub enum Caller {
    /// The admin token (or, on a server without one, anybody).
    Admin,
    /// A namespace key.
    Key(KeyEntry),
}

/// Whether a route reads or writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

/// The token of a request: `Authorization: Bearer <t>` or `api-key: <t>`.
pub fn presented_token(headers: &axum::http::HeaderMap) -> Option<&str> {
    if let Some(v) = headers.get(axum::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let v = v.trim();
        if let Some(t) = v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")) {
            return Some(t.trim());
        }
        return Some(v);
    }
    headers.get("api-key").and_then(|v| v.to_str().ok()).map(str::trim)
}

/// Checks the credentials of a request.
pub fn authenticate(
    headers: &axum::http::HeaderMap,
    admin_token: Option<&str>,
    keys: Option<&KeyStore>,
) -> std::result::Result<Caller, ApiError> {
    let presented = presented_token(headers);
    let Some(token) = presented else {
        return match admin_token {
            None => Ok(Caller::Admin),
            Some(_) => Err(ApiError::server(
                ServerCode::Unauthorized,
                "missing credentials: send Authorization: Bearer <admin token or API key>",
            )),
        };
    };
    if let Some(admin) = admin_token {
        if bool::from(token.as_bytes().ct_eq(admin.as_bytes())) {
            return Ok(Caller::Admin);
        }
    }
    if let Some(entry) = keys.and_then(|k| k.verify(token)) {
        return Ok(Caller::Key(entry));
    }
    Err(ApiError::server(ServerCode::Unauthorized, "invalid credentials: no admin token or API key matches"))
}

/// Refuses a namespace key on an admin route.
pub fn require_admin(caller: &Caller) -> std::result::Result<(), ApiError> {
    match caller {
        Caller::Admin => Ok(()),
        Caller::Key(k) => Err(ApiError::server(
            ServerCode::Forbidden,
            format!("key {} is a namespace key: this route needs the admin token", k.key_id),
        )),
    }
}

/// Refuses a key for another namespace, and a read-only key on a writing route.
pub fn authorize(caller: &Caller, namespace: &str, access: Access) -> std::result::Result<(), ApiError> {
    let Caller::Key(k) = caller else { return Ok(()) };
    if k.namespace != namespace {
        return Err(ApiError::server(
            ServerCode::Forbidden,
            format!("key {} belongs to another namespace than {namespace}", k.key_id),
        ));
    }
    if access == Access::Write && k.role == Role::ReadOnly {
        return Err(ApiError::server(
            ServerCode::Forbidden,
            format!("key {} is read_only: this route writes", k.key_id),
        ));
    }
    Ok(())
}
