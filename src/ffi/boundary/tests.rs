use super::*;
use crate::ffi::error::{vs_error_code, vs_error_free, vs_error_message};

#[test]
fn a_panic_becomes_vs_err_internal_with_its_message() {
    let mut err = MaybeUninit::uninit();
    let status = status_call(Some(&mut err), || panic!("boom at the boundary"));
    assert_eq!(status, vs_status::VS_ERR_INTERNAL);
    // SAFETY: a failed status_call wrote `err`.
    let err = unsafe { err.assume_init() };
    // SAFETY: `err` is the live error just returned.
    let e = unsafe { err.as_ref() };
    assert_eq!(vs_error_code(e), vs_status::VS_ERR_INTERNAL);
    // SAFETY: vs_error_message returns a NUL-terminated string borrowed from the live error.
    let msg = unsafe { CStr::from_ptr(vs_error_message(e)) }.to_str().unwrap();
    assert!(msg.contains("boom at the boundary"), "{msg}");
    // SAFETY: `err` came from Box::into_raw and is freed once.
    vs_error_free(Some(unsafe { Box::from_raw(err) }));
    assert_eq!(value_call(7, || panic!("accessor bug")), 7);
    // With err = NULL the status alone reports it.
    assert_eq!(status_call(None, || panic!("again")), vs_status::VS_ERR_INTERNAL);
}

#[test]
fn outputs_are_written_only_on_success() {
    let mut out = MaybeUninit::new(7u64);
    let status = out_call(None, Some(&mut out), "out", || -> Result<u64> { Err(Error::invalid("no")) });
    assert_eq!(status, vs_status::VS_ERR_INVALID_ARGUMENT);
    // SAFETY: initialised above and not written by the failed call.
    assert_eq!(unsafe { out.assume_init() }, 7);
    let status = out_call(None, Some(&mut out), "out", || -> Result<u64> { panic!("mid-call") });
    assert_eq!(status, vs_status::VS_ERR_INTERNAL);
    // SAFETY: as above.
    assert_eq!(unsafe { out.assume_init() }, 7);
    assert_eq!(out_call(None, Some(&mut out), "out", || Ok(9u64)), vs_status::VS_OK);
    // SAFETY: written by the successful call.
    assert_eq!(unsafe { out.assume_init() }, 9);
    // A NULL output is refused before the body runs.
    let mut ran = false;
    let status = out_call(None, None::<&mut MaybeUninit<u64>>, "out", || {
        ran = true;
        Ok(1u64)
    });
    assert_eq!((status, ran), (vs_status::VS_ERR_INVALID_ARGUMENT, false));
}

#[test]
fn versioned_structs_refuse_unknown_sizes_and_name_the_constructor() {
    let mut opts = crate::ffi::store::vs_store_options_default();
    opts.struct_size = 0;
    // SAFETY: `opts` is a live, initialised vs_store_options.
    let e = unsafe { try_versioned(&opts, "opts") }.unwrap_err();
    assert!(e.message.contains("vs_store_options_default"), "{}", e.message);
    opts.struct_size = 4096;
    // SAFETY: as above.
    assert!(unsafe { try_versioned(&opts, "opts") }.is_err());
    opts.struct_size = std::mem::size_of_val(&opts) as u32;
    opts.dimension = 7;
    // SAFETY: as above.
    assert_eq!(unsafe { try_versioned(&opts, "opts") }.unwrap().dimension, 7);
}

#[test]
fn slices_refuse_null_misaligned_and_impossible_arrays() {
    let v = [1.0f32, 2.0];
    // SAFETY: NULL with length 0 is the empty array; no memory is read.
    assert_eq!(unsafe { try_slice(std::ptr::null::<f32>(), 0, "v") }.unwrap(), &[] as &[f32]);
    // SAFETY: NULL is refused before any read.
    assert!(unsafe { try_slice(std::ptr::null::<f32>(), 2, "v") }.is_err());
    let misaligned = (v.as_ptr() as *const u8).wrapping_add(1) as *const f32;
    // SAFETY: a misaligned pointer is refused before any read.
    assert!(unsafe { try_slice(misaligned, 1, "v") }.unwrap_err().message.contains("aligned"));
    // SAFETY: an impossible length is refused before any read.
    assert!(unsafe { try_slice(v.as_ptr(), usize::MAX / 2, "v") }.is_err());
    // SAFETY: `v` holds 2 floats.
    assert_eq!(unsafe { try_slice(v.as_ptr(), 2, "v") }.unwrap(), &v);
}
