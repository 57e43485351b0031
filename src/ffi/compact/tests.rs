use super::*;
use std::ffi::CStr;

#[test]
fn reasons_are_cut_at_a_character_boundary_and_terminated() {
    let mut buf = [1 as c_char; VS_COMPACTION_REASON_LEN];
    let long = "é".repeat(200); // 400 bytes
    fill_reason(&mut buf, &long);
    // SAFETY: fill_reason leaves `buf` NUL-terminated.
    let s = unsafe { CStr::from_ptr(buf.as_ptr()) }.to_str().unwrap();
    assert_eq!(s, "é".repeat(127));
    fill_reason(&mut buf, "short");
    // SAFETY: as above.
    assert_eq!(unsafe { CStr::from_ptr(buf.as_ptr()) }.to_str().unwrap(), "short");
}

#[test]
fn output_structs_are_written_only_up_to_the_callers_size() {
    let write = |out: &mut vs_compaction_config| {
        // SAFETY: `out` is a live, initialised struct.
        unsafe { versioned_out_call(None, out, "out", |_| Ok(vs_compaction_config_default())) }
    };
    let mut out = vs_compaction_config_default();
    out.struct_size = 0;
    out.min_deleted_records = 5;
    assert_eq!(write(&mut out), vs_status::VS_ERR_INVALID_ARGUMENT);
    assert_eq!(out.min_deleted_records, 5, "a refused struct is left untouched");
    let mut out = vs_compaction_config_default();
    out.enabled = true;
    assert_eq!(write(&mut out), vs_status::VS_OK);
    assert!(!out.enabled);
    assert_eq!(out.min_deleted_records, 1000);
    assert_eq!(out.struct_size as usize, std::mem::size_of::<vs_compaction_config>());
}
