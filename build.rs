//! Gives the shared library an ELF SONAME, `libvecstore.so.MAJOR`, so that a program linked against
//! it records the major version it needs (DT_NEEDED) and `make install` can ship the usual chain
//! libvecstore.so -> libvecstore.so.MAJOR -> libvecstore.so.MAJOR.MINOR.PATCH. Only the cdylib gets
//! the flag; the static library and the Rust binaries are unaffected.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if os == "linux" || os == "freebsd" || os == "netbsd" || os == "openbsd" || os == "android" {
        let major = std::env::var("CARGO_PKG_VERSION_MAJOR").expect("cargo sets CARGO_PKG_VERSION_MAJOR");
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libvecstore.so.{major}");
    }
}
