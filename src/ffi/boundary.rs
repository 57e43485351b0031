//! The panic boundary and the argument checks every `extern "C"` function shares.

use std::ffi::{c_char, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};

use super::error::{vs_error, vs_status};
use crate::error::{Code, Error, Result};

/// Runs the body of a fallible C function: `Ok` becomes `VS_OK`; an error, or a caught panic (as
/// `VS_ERR_INTERNAL`), becomes its status and, when `err` is not NULL, an owned `vs_error` in `*err`.
///
/// The body must write its outputs last, after everything that can fail, so that outputs are written
/// only on success.
pub(crate) fn status_call(err: *mut *mut vs_error, body: impl FnOnce() -> Result<()>) -> vs_status {
    let outcome = catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|panic| {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_string());
        Err(Error::new(Code::Internal, format!("internal error in vecstore (please report): {what}")))
    });
    match outcome {
        Ok(()) => vs_status::VS_OK,
        Err(e) => {
            let status = vs_status::from(e.code);
            if !err.is_null() {
                // SAFETY: the caller passes NULL or a pointer to writable `vs_error *` storage.
                unsafe { *err = vs_error::boxed(status, e.message) };
            }
            status
        }
    }
}

/// Runs the body of an infallible C function (an accessor), returning `on_panic` if it panics.
pub(crate) fn value_call<T>(on_panic: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(on_panic)
}

/// A borrowed NUL-terminated UTF-8 string argument.
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string that stays valid for `'a`.
pub(crate) unsafe fn str_arg<'a>(p: *const c_char, name: &str) -> Result<&'a str> {
    if p.is_null() {
        return Err(Error::invalid(format!("{name} is NULL")));
    }
    CStr::from_ptr(p).to_str().map_err(|e| {
        Error::invalid(format!("{name} is not valid UTF-8 (invalid byte at offset {})", e.valid_up_to()))
    })
}

/// Like [`str_arg`], but NULL means "absent".
pub(crate) unsafe fn opt_str_arg<'a>(p: *const c_char, name: &str) -> Result<Option<&'a str>> {
    if p.is_null() {
        Ok(None)
    } else {
        str_arg(p, name).map(Some)
    }
}

/// A borrowed array of `len` floats. NULL is allowed only when `len` is 0.
pub(crate) unsafe fn floats_arg<'a>(p: *const f32, len: usize, name: &str) -> Result<&'a [f32]> {
    if len == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return Err(Error::invalid(format!("{name} is NULL but its length is {len}")));
    }
    if !(p as usize).is_multiple_of(std::mem::align_of::<f32>()) {
        return Err(Error::invalid(format!("{name} is not aligned for float")));
    }
    if len > isize::MAX as usize / std::mem::size_of::<f32>() {
        return Err(Error::invalid(format!("{name} length {len} is impossibly large")));
    }
    Ok(std::slice::from_raw_parts(p, len))
}

/// A borrowed array of `len` C-string pointers (the entries themselves are checked by the caller).
/// NULL is refused, as are a misaligned pointer and an impossible length.
pub(crate) unsafe fn ptr_array_arg<'a>(
    p: *const *const c_char,
    len: usize,
    name: &str,
) -> Result<&'a [*const c_char]> {
    if p.is_null() {
        return Err(Error::invalid(format!("{name} is NULL but its length is {len}")));
    }
    if !(p as usize).is_multiple_of(std::mem::align_of::<*const c_char>()) {
        return Err(Error::invalid(format!("{name} is not aligned for a pointer array")));
    }
    if len > isize::MAX as usize / std::mem::size_of::<*const c_char>() {
        return Err(Error::invalid(format!("{name} length {len} is impossibly large")));
    }
    Ok(std::slice::from_raw_parts(p, len))
}

/// A borrowed handle. NULL is `VS_ERR_INVALID_ARGUMENT`.
pub(crate) unsafe fn handle<'a, T>(p: *const T, name: &str) -> Result<&'a T> {
    p.as_ref().ok_or_else(|| Error::invalid(format!("{name} is NULL")))
}

/// Checks that an output pointer is not NULL, before any work is done.
pub(crate) fn out_arg<T>(p: *mut T, name: &str) -> Result<()> {
    if p.is_null() {
        Err(Error::invalid(format!("{name} (output) is NULL")))
    } else {
        Ok(())
    }
}

/// Implemented by the versioned option structs (`struct_size` first).
pub(crate) trait Versioned: Copy {
    /// The size of the first published version of the struct: smaller is refused.
    const MIN_SIZE: usize;
    /// The constructor a C caller must use, named in error messages.
    const CONSTRUCTOR: &'static str;
    fn defaults() -> Self;
}

/// Reads a caller's option struct: only the first `struct_size` bytes are read, the rest keep their
/// defaults (so a caller compiled against an older header still works). NULL means all defaults.
pub(crate) unsafe fn versioned_arg<T: Versioned>(p: *const T, name: &str) -> Result<T> {
    let mut out = T::defaults();
    if p.is_null() {
        return Ok(out);
    }
    if !(p as usize).is_multiple_of(std::mem::align_of::<T>()) {
        return Err(Error::invalid(format!("{name} is not properly aligned")));
    }
    let size = std::ptr::read(p as *const u32) as usize;
    let ours = std::mem::size_of::<T>();
    if size == 0 {
        return Err(Error::invalid(format!(
            "{name}.struct_size is 0: initialise the struct with {}()",
            T::CONSTRUCTOR
        )));
    }
    if size < T::MIN_SIZE || size > ours {
        return Err(Error::invalid(format!(
            "{name}.struct_size is {size}, this library accepts {}..={ours}: initialise the struct with {}() \
             and check that the header matches the library (vs_abi_version)",
            T::MIN_SIZE,
            T::CONSTRUCTOR
        )));
    }
    std::ptr::copy_nonoverlapping(p as *const u8, &mut out as *mut T as *mut u8, size);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ffi::error::{vs_error_code, vs_error_free, vs_error_message};

    #[test]
    fn a_panic_becomes_vs_err_internal_with_its_message() {
        let mut err: *mut vs_error = std::ptr::null_mut();
        let status = status_call(&mut err, || panic!("boom at the boundary"));
        assert_eq!(status, vs_status::VS_ERR_INTERNAL);
        unsafe {
            assert_eq!(vs_error_code(err), vs_status::VS_ERR_INTERNAL);
            let msg = CStr::from_ptr(vs_error_message(err)).to_str().unwrap();
            assert!(msg.contains("boom at the boundary"), "{msg}");
            vs_error_free(err);
        }
        assert_eq!(value_call(7, || panic!("accessor bug")), 7);
        // With err = NULL the status alone reports it.
        assert_eq!(status_call(std::ptr::null_mut(), || panic!("again")), vs_status::VS_ERR_INTERNAL);
    }

    #[test]
    fn versioned_structs_refuse_unknown_sizes_and_name_the_constructor() {
        let mut opts = crate::ffi::store::vs_store_options_default();
        opts.struct_size = 0;
        let e = unsafe { versioned_arg(&opts, "opts") }.unwrap_err();
        assert!(e.message.contains("vs_store_options_default"), "{}", e.message);
        opts.struct_size = 4096;
        assert!(unsafe { versioned_arg(&opts, "opts") }.is_err());
        opts.struct_size = std::mem::size_of_val(&opts) as u32;
        opts.dimension = 7;
        assert_eq!(unsafe { versioned_arg(&opts, "opts") }.unwrap().dimension, 7);
    }
}
