//! The error type of the core and the status codes it maps to at the C boundary.
//!
//! Every failure of the core is an [`Error`] carrying a [`Code`] (the stable number a C, Go or C++ caller
//! switches on) and a message written for a person. The numeric values of [`Code`] are part of the ABI:
//! never renumber them, only append.

use std::fmt;

/// Stable error categories. The C enum `vs_status` mirrors these numbers exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Code {
    InvalidArgument = 1,
    DimensionMismatch = 2,
    NotFound = 3,
    AlreadyExists = 4,
    FilterSyntax = 5,
    QuotaExceeded = 6,
    RateLimited = 7,
    NamespaceSuspended = 8,
    Io = 9,
    Corrupt = 10,
    Locked = 11,
    Internal = 12,
}

/// One row per [`Code`]: every spelling of it lives here and nowhere else.
struct CodeRow {
    code: Code,
    /// The spelling in every JSON document the library (and its HTTP server) emits: `"not_found"`.
    key: &'static str,
    /// The C enum name, returned by `vs_status_name`.
    c_name: &'static std::ffi::CStr,
    /// A few words for a person: "not found".
    description: &'static str,
}

const CODES: [CodeRow; 12] = [
    row(Code::InvalidArgument, "invalid_argument", c"VS_ERR_INVALID_ARGUMENT", "invalid argument"),
    row(Code::DimensionMismatch, "dimension_mismatch", c"VS_ERR_DIMENSION_MISMATCH", "dimension mismatch"),
    row(Code::NotFound, "not_found", c"VS_ERR_NOT_FOUND", "not found"),
    row(Code::AlreadyExists, "already_exists", c"VS_ERR_ALREADY_EXISTS", "already exists"),
    row(Code::FilterSyntax, "filter_syntax", c"VS_ERR_FILTER_SYNTAX", "filter syntax error"),
    row(Code::QuotaExceeded, "quota_exceeded", c"VS_ERR_QUOTA_EXCEEDED", "quota exceeded"),
    row(Code::RateLimited, "rate_limited", c"VS_ERR_RATE_LIMITED", "rate limited"),
    row(
        Code::NamespaceSuspended,
        "namespace_suspended",
        c"VS_ERR_NAMESPACE_SUSPENDED",
        "namespace suspended",
    ),
    row(Code::Io, "io", c"VS_ERR_IO", "I/O error"),
    row(Code::Corrupt, "corrupt", c"VS_ERR_CORRUPT", "corrupt data"),
    row(Code::Locked, "locked", c"VS_ERR_LOCKED", "locked"),
    row(Code::Internal, "internal", c"VS_ERR_INTERNAL", "internal error"),
];

const fn row(
    code: Code,
    key: &'static str,
    c_name: &'static std::ffi::CStr,
    description: &'static str,
) -> CodeRow {
    CodeRow { code, key, c_name, description }
}

// The table is indexed by the code's number: a row out of place would give a code another's name.
const _: () = {
    let mut i = 0;
    while i < CODES.len() {
        assert!(CODES[i].code as usize == i + 1);
        i += 1;
    }
};

impl Code {
    /// Every code, in numeric order.
    pub fn all() -> impl Iterator<Item = Code> {
        CODES.iter().map(|r| r.code)
    }

    /// The code with this number, if there is one (`vs_status` values cross the ABI as ints).
    pub fn from_number(n: i64) -> Option<Code> {
        usize::try_from(n).ok().and_then(|n| n.checked_sub(1)).and_then(|i| CODES.get(i)).map(|r| r.code)
    }

    fn row(self) -> &'static CodeRow {
        &CODES[self as usize - 1]
    }

    /// The code's spelling in JSON (batch reports, estimates, HTTP errors): `"not_found"`.
    pub fn key(self) -> &'static str {
        self.row().key
    }

    /// The C enum name: `"VS_ERR_NOT_FOUND"`.
    pub fn c_name(self) -> &'static std::ffi::CStr {
        self.row().c_name
    }

    /// A few words for a person: `"not found"`.
    pub fn name(self) -> &'static str {
        self.row().description
    }
}

/// A failure of a vecstore operation: a code and a human-readable message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    pub code: Code,
    pub message: String,
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Error { code, message: message.into() }
    }
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(Code::InvalidArgument, message)
    }
    pub fn not_found(id: &str) -> Self {
        Self::new(Code::NotFound, format!("record not found: {id}"))
    }
    pub fn dimension(expected: usize, got: usize) -> Self {
        Self::new(
            Code::DimensionMismatch,
            format!("vector has dimension {got}, the store has dimension {expected}"),
        )
    }
    pub fn corrupt(file: &std::path::Path, what: impl fmt::Display) -> Self {
        Self::new(Code::Corrupt, format!("{}: {what}", file.display()))
    }
    /// An I/O failure, naming the file and the action that failed.
    pub fn io(action: &str, path: &std::path::Path, err: std::io::Error) -> Self {
        Self::new(Code::Io, format!("{action} {}: {err}", path.display()))
    }
}
