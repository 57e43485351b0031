//! Status codes, the owned error object, and freeing strings the library returned.

use std::ffi::{c_char, CString};

use super::boundary::{value_call, BoxedHandle};
use crate::error::Code;

/// The result of every fallible vecstore function. `VS_OK` (0) is success; every other value names a
/// kind of failure, and the function's `vs_error **err` (when not NULL) receives the details.
/// The numeric values are stable across versions; new codes are only ever appended.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum vs_status {
    /// Success.
    VS_OK = 0,
    /// A NULL pointer, bad UTF-8, malformed JSON, a NaN or infinite number, k = 0, an out-of-range
    /// option, a zero vector in a cosine store, an uninitialised option struct, ...
    VS_ERR_INVALID_ARGUMENT = 1,
    /// A vector's length differs from the store's dimension (or the store was reopened with another).
    VS_ERR_DIMENSION_MISMATCH = 2,
    /// No record (or namespace, or backup) with that id.
    VS_ERR_NOT_FOUND = 3,
    /// Something with that id already exists (namespaces, backups).
    VS_ERR_ALREADY_EXISTS = 4,
    /// A metadata filter does not parse; the message gives the position and what was expected.
    VS_ERR_FILTER_SYNTAX = 5,
    /// A namespace quota would be exceeded; nothing was changed.
    VS_ERR_QUOTA_EXCEEDED = 6,
    /// A namespace's request rate limit was reached; try again later.
    VS_ERR_RATE_LIMITED = 7,
    /// The namespace is suspended and refuses data operations.
    VS_ERR_NAMESPACE_SUSPENDED = 8,
    /// The operating system refused a file operation (the message names the file).
    VS_ERR_IO = 9,
    /// A file of the store is damaged or of an unknown format version (the message names the file).
    VS_ERR_CORRUPT = 10,
    /// The store directory is already open, by this process or another.
    VS_ERR_LOCKED = 11,
    /// A bug inside vecstore (a caught panic); please report it. A panic inside a write (after its
    /// log append) fails the handle: every later call through it answers `VS_ERR_INTERNAL` saying
    /// so, until the store is closed and opened again (reopening replays the log, which holds every
    /// acknowledged write). After a panic anywhere else the handle stays usable.
    VS_ERR_INTERNAL = 12,
}

// vs_status crosses the ABI as a C enum, which is int-sized.
const _: () = assert!(std::mem::size_of::<vs_status>() == std::mem::size_of::<std::ffi::c_int>());

impl From<Code> for vs_status {
    fn from(code: Code) -> Self {
        // The type mapping only: names and JSON spellings live in the core's table (`Code`), and a
        // test checks that every pair has the same number.
        match code {
            Code::InvalidArgument => vs_status::VS_ERR_INVALID_ARGUMENT,
            Code::DimensionMismatch => vs_status::VS_ERR_DIMENSION_MISMATCH,
            Code::NotFound => vs_status::VS_ERR_NOT_FOUND,
            Code::AlreadyExists => vs_status::VS_ERR_ALREADY_EXISTS,
            Code::FilterSyntax => vs_status::VS_ERR_FILTER_SYNTAX,
            Code::QuotaExceeded => vs_status::VS_ERR_QUOTA_EXCEEDED,
            Code::RateLimited => vs_status::VS_ERR_RATE_LIMITED,
            Code::NamespaceSuspended => vs_status::VS_ERR_NAMESPACE_SUSPENDED,
            Code::Io => vs_status::VS_ERR_IO,
            Code::Corrupt => vs_status::VS_ERR_CORRUPT,
            Code::Locked => vs_status::VS_ERR_LOCKED,
            Code::Internal => vs_status::VS_ERR_INTERNAL,
        }
    }
}

/// An error returned through a `vs_error **err` out-parameter: a status code and a message.
/// Owned by the caller, who frees it with `vs_error_free`. Immutable, so it may be read from any
/// thread.
pub struct vs_error {
    code: vs_status,
    message: CString,
}

impl vs_error {
    pub(crate) fn boxed(code: vs_status, message: String) -> *mut vs_error {
        // Messages are built by us, but may quote user text: never let an interior NUL lose them.
        let message = CString::new(message.replace('\0', "\\0")).expect("NULs were replaced");
        Box::into_raw(Box::new(vs_error { code, message }))
    }
}

impl BoxedHandle for vs_error {}

/// The status code of an error. Returns `VS_OK` when `err` is NULL.
#[no_mangle]
pub extern "C" fn vs_error_code(err: Option<&vs_error>) -> vs_status {
    value_call(vs_status::VS_ERR_INTERNAL, || err.map_or(vs_status::VS_OK, |e| e.code))
}

/// The error's message: NUL-terminated UTF-8, borrowed from `err` and valid until `vs_error_free(err)`.
/// Returns an empty string (never NULL) when `err` is NULL.
#[no_mangle]
pub extern "C" fn vs_error_message(err: Option<&vs_error>) -> *const c_char {
    value_call(c"".as_ptr(), || err.map_or(c"".as_ptr(), |e| e.message.as_ptr()))
}

/// Frees an error. NULL is a no-op. Must be called at most once per error.
#[no_mangle]
pub extern "C" fn vs_error_free(err: Option<Box<vs_error>>) {
    value_call((), || drop(err))
}

/// Frees a string returned by vecstore as an owned `char *` (the `*_json` functions' outputs).
/// NULL is a no-op. Must be called at most once per string, and only on strings from vecstore.
#[no_mangle]
pub unsafe extern "C" fn vs_string_free(s: *mut c_char) {
    value_call((), || {
        if !s.is_null() {
            // SAFETY: the header's contract: `s` is a string vecstore returned as an owned `char *`
            // (made by `CString::into_raw` in `owned_c_string`), not yet freed.
            drop(unsafe { CString::from_raw(s) });
        }
    })
}

/// The name of a status code as a static string (for example "VS_ERR_NOT_FOUND"); never NULL, and
/// never to be freed; "VS_ERR_UNKNOWN" for a value that is not a status. Thread-safe.
/// (Takes an `int` so that any value a C caller holds is safe to pass.)
#[no_mangle]
pub extern "C" fn vs_status_name(status: std::ffi::c_int) -> *const c_char {
    let name = match status {
        0 => c"VS_OK",
        n => Code::from_number(n.into()).map_or(c"VS_ERR_UNKNOWN", Code::c_name),
    };
    name.as_ptr()
}

/// Builds an owned C string for a `char **out` result.
pub(crate) fn owned_c_string(s: String) -> *mut c_char {
    CString::new(s.replace('\0', "\\u0000")).expect("NULs were replaced").into_raw()
}

#[cfg(test)]
mod tests;
