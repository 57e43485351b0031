//! The checked-in C header must be exactly what cbindgen generates from src/ffi, and its version
//! macros must match Cargo.toml. Set VECSTORE_BLESS=1 to rewrite the header instead of failing.

use std::path::Path;

fn generate() -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(root.join("cbindgen.toml")).expect("cbindgen.toml parses");
    let mut out = Vec::new();
    cbindgen::Builder::new()
        .with_crate(root)
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header")
        .write(&mut out);
    String::from_utf8(out).expect("header is UTF-8")
}

#[test]
fn checked_in_header_is_up_to_date() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("include/vecstore.h");
    let fresh = generate();
    if std::env::var_os("VECSTORE_BLESS").is_some() {
        std::fs::write(&path, &fresh).unwrap();
        return;
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == fresh,
        "include/vecstore.h is stale: regenerate it with `VECSTORE_BLESS=1 cargo test --test header` and commit it"
    );
}

fn define(header: &str, name: &str) -> String {
    header
        .lines()
        .find_map(|l| l.strip_prefix(&format!("#define {name} ")))
        .unwrap_or_else(|| panic!("{name} is not defined in the header"))
        .trim()
        .to_string()
}

#[test]
fn header_version_matches_cargo_toml() {
    let header =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("include/vecstore.h")).unwrap();
    assert_eq!(define(&header, "VS_VERSION_MAJOR"), env!("CARGO_PKG_VERSION_MAJOR"));
    assert_eq!(define(&header, "VS_VERSION_MINOR"), env!("CARGO_PKG_VERSION_MINOR"));
    assert_eq!(define(&header, "VS_VERSION_PATCH"), env!("CARGO_PKG_VERSION_PATCH"));
    let version = unsafe { std::ffi::CStr::from_ptr(vecstore::ffi::version::vs_version()) };
    assert_eq!(version.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
    assert_eq!(define(&header, "VS_ABI_VERSION"), vecstore::ffi::version::vs_abi_version().to_string());
}

#[test]
fn header_exports_only_prefixed_names() {
    let header =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("include/vecstore.h")).unwrap();
    for line in header.lines() {
        if let Some(rest) = line.strip_prefix("#define ") {
            let name = rest.split_whitespace().next().unwrap();
            assert!(name.starts_with("VS_") || name == "VECSTORE_H", "unprefixed macro {name}");
        }
        // `typedef struct vs_x vs_x;` and the closing `} vs_x;` of a multi-line typedef.
        let declared = if line.starts_with("typedef ") && line.ends_with(';') {
            line.trim_end_matches(';').split_whitespace().last()
        } else {
            line.strip_prefix("} ").filter(|r| r.ends_with(';')).map(|r| r.trim_end_matches(';'))
        };
        if let Some(name) = declared {
            assert!(name.starts_with("vs_"), "unprefixed type {name}");
        }
    }
}
