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

impl Code {
    pub fn name(self) -> &'static str {
        match self {
            Code::InvalidArgument => "invalid argument",
            Code::DimensionMismatch => "dimension mismatch",
            Code::NotFound => "not found",
            Code::AlreadyExists => "already exists",
            Code::FilterSyntax => "filter syntax error",
            Code::QuotaExceeded => "quota exceeded",
            Code::RateLimited => "rate limited",
            Code::NamespaceSuspended => "namespace suspended",
            Code::Io => "I/O error",
            Code::Corrupt => "corrupt data",
            Code::Locked => "locked",
            Code::Internal => "internal error",
        }
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
