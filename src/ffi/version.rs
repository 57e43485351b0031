//! Version numbers, so a program can check at start-up that the header it was compiled with and the
//! library it runs with agree.

use std::ffi::c_char;

/// Major version of the header (a test keeps these equal to Cargo.toml's version).
pub const VS_VERSION_MAJOR: u32 = 0;
/// Minor version of the header.
pub const VS_VERSION_MINOR: u32 = 1;
/// Patch version of the header.
pub const VS_VERSION_PATCH: u32 = 0;
/// ABI version of the header. It changes only when a change breaks programs compiled against an
/// older header; compare it with `vs_abi_version()` at start-up.
pub const VS_ABI_VERSION: u32 = 1;

/// The library's version as "MAJOR.MINOR.PATCH": a static string, never NULL, never to be freed.
/// Thread-safe.
#[no_mangle]
pub extern "C" fn vs_version() -> *const c_char {
    const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");
    VERSION.as_ptr().cast()
}

/// The library's ABI version. A program compiled against this header should check
/// `vs_abi_version() == VS_ABI_VERSION` before anything else. Thread-safe.
#[no_mangle]
pub extern "C" fn vs_abi_version() -> u32 {
    VS_ABI_VERSION
}
