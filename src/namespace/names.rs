//! Validation of namespace ids and backup names: they become directory names under the manager's
//! root, so they must never be able to name anything else.

use crate::error::{Error, Result};

/// Longest namespace id or backup name, in bytes.
pub const MAX_NAME_LEN: usize = 64;
/// Longest display name of a namespace, in bytes.
pub const MAX_DISPLAY_NAME_LEN: usize = 256;

/// Checks a namespace id or a backup name (`what` names which, for the message): 1..=64 bytes of
/// ASCII letters, digits, `-`, `_` and `.`, not starting with `.`. So no separator, no `..`, no NUL,
/// no absolute path, nothing hidden, and nothing the manager's own temporary names (which start with
/// `.`) can collide with.
pub fn check_name(name: &str, what: &str) -> Result<()> {
    if name.is_empty() {
        return Err(Error::invalid(format!("{what} is empty")));
    }
    if name.len() > MAX_NAME_LEN {
        return Err(Error::invalid(format!(
            "{what} is {} bytes long, the limit is {MAX_NAME_LEN}",
            name.len()
        )));
    }
    if name.starts_with('.') {
        return Err(Error::invalid(format!("{what} {name:?} starts with '.'")));
    }
    if let Some(c) = name.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))) {
        return Err(Error::invalid(format!(
            "{what} {name:?} holds {c:?}: only ASCII letters, digits, '-', '_' and '.' are allowed"
        )));
    }
    Ok(())
}

/// Checks a namespace's display name: free text (any UTF-8 but control characters), at most 256 bytes.
pub fn check_display_name(name: &str) -> Result<()> {
    if name.len() > MAX_DISPLAY_NAME_LEN {
        return Err(Error::invalid(format!(
            "display name is {} bytes long, the limit is {MAX_DISPLAY_NAME_LEN}",
            name.len()
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(Error::invalid("display name holds a control character"));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
