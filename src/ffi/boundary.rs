//! The panic boundary and the helpers every `extern "C"` function is written with.
//!
//! How a C pointer becomes a Rust value:
//! - Where Rust can state a pointer's contract, the signature states it and the body needs no
//!   `unsafe`: `Option<&T>` for a handle that is only read (`const T *`), `Option<Box<T>>` for a
//!   handle given back to be freed (`T *`), `Option<&mut MaybeUninit<T>>` for an output slot
//!   (`T *out`, which the caller may leave uninitialised). Each is ABI-compatible with the C pointer
//!   (NULL is `None`) and cbindgen prints it as that pointer, so the header does not change.
//! - What Rust cannot state stays a raw pointer and becomes a Rust value through one of the
//!   `unsafe fn`s below, each called in its own `unsafe` block whose `// SAFETY:` line names the
//!   header's contract: NUL-terminated strings (`try_str`), arrays with a length (`try_slice`),
//!   option structs whose size the caller decides (`try_versioned`), and handles that many
//!   threads share but that the header declares `T *` (`try_ref`).
//! - Outputs are written by `out_call` and its variants, after the body returned `Ok` and never
//!   otherwise (the shape of wasmtime's `handle_result`): "outputs only on success" is the
//!   structure of the code, not a rule each function must remember.

use std::ffi::{c_char, CStr};
use std::mem::MaybeUninit;
use std::panic::{catch_unwind, AssertUnwindSafe};

use super::error::{owned_c_string, vs_error, vs_status};
use crate::error::{Code, Error, Result};

/// A type C code holds as an opaque `T *` that it owns: made from a `Box<T>` ([`IntoC`]), read by
/// any number of threads through shared references ([`try_ref`], `Option<&T>`), and freed exactly
/// once by its `*_free` / `*_close` function, which takes it back as `Option<Box<T>>`. Every handle
/// of the C ABI is boxed (a store shares its core through an `Arc` *inside* the box), so there is
/// no other ownership to declare. Only these types can be read through [`try_ref`].
pub(crate) trait BoxedHandle {}

/// A value a successful call hands to C through an output slot: `C` is the type of the slot.
pub(crate) trait IntoC {
    type C;
    fn into_c(self) -> Self::C;
}

/// A new handle: C owns it from now on.
impl<T: BoxedHandle> IntoC for Box<T> {
    type C = *mut T;
    fn into_c(self) -> *mut T {
        Box::into_raw(self)
    }
}

/// An owned `char *` (a `*_json` output), released with `vs_string_free`.
impl IntoC for String {
    type C = *mut c_char;
    fn into_c(self) -> *mut c_char {
        owned_c_string(self)
    }
}

impl IntoC for u64 {
    type C = u64;
    fn into_c(self) -> u64 {
        self
    }
}

/// Runs the body of a fallible C function: `Ok` becomes `VS_OK`; an error, or a caught panic (as
/// `VS_ERR_INTERNAL`), becomes its status and, when `err` is not NULL, an owned `vs_error` in `*err`.
/// A body with outputs goes through [`out_call`] instead, which writes them.
pub(crate) fn status_call(
    err: Option<&mut MaybeUninit<*mut vs_error>>,
    body: impl FnOnce() -> Result<()>,
) -> vs_status {
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
            if let Some(err) = err {
                err.write(vs_error::boxed(status, e.message));
            }
            status
        }
    }
}

fn null_output(name: &str) -> Error {
    Error::invalid(format!("{name} (output) is NULL"))
}

/// Runs a fallible C function with one output: `out` is refused when NULL before `body` runs, and
/// written only when `body` returns `Ok`, so a failing (or panicking) call leaves `*out` untouched.
pub(crate) fn out_call<V: IntoC>(
    err: Option<&mut MaybeUninit<*mut vs_error>>,
    out: Option<&mut MaybeUninit<V::C>>,
    name: &str,
    body: impl FnOnce() -> Result<V>,
) -> vs_status {
    status_call(err, || {
        let out = out.ok_or_else(|| null_output(name))?;
        let value = body()?;
        out.write(value.into_c());
        Ok(())
    })
}

/// As [`out_call`], for an output the caller may decline with NULL (the work is done anyway).
pub(crate) fn opt_out_call<V: IntoC>(
    err: Option<&mut MaybeUninit<*mut vs_error>>,
    out: Option<&mut MaybeUninit<V::C>>,
    body: impl FnOnce() -> Result<V>,
) -> vs_status {
    status_call(err, || {
        let value = body()?;
        if let Some(out) = out {
            out.write(value.into_c());
        }
        Ok(())
    })
}

/// Runs a fallible C function whose output is a versioned struct (`struct_size` first) that the
/// caller initialised: before `body` runs, `out` is refused when NULL, misaligned or of a size this
/// library does not know; `body` receives the caller's struct as read (fields past its
/// `struct_size` at their defaults) and returns the value to write; on `Ok`, only the caller's
/// `struct_size` bytes are written (so a caller compiled against an older header is not overrun).
///
/// # Safety
/// `out` is NULL or points to a struct initialised by its `*_default()` constructor (at least
/// `struct_size` bytes, readable and writable) that no other thread accesses during the call.
pub(crate) unsafe fn versioned_out_call<T: Versioned>(
    err: Option<&mut MaybeUninit<*mut vs_error>>,
    out: *mut T,
    name: &str,
    body: impl FnOnce(T) -> Result<T>,
) -> vs_status {
    status_call(err, || {
        if out.is_null() {
            return Err(null_output(name));
        }
        // SAFETY: `out` is not NULL and, by this function's contract, points to an initialised struct
        // of at least its `struct_size` bytes; try_versioned checks alignment and that size.
        let (current, size) = unsafe { read_versioned(out, name) }?;
        let mut value = body(current)?;
        // The caller's struct keeps the size it was built with, not ours.
        // SAFETY: every versioned struct is `repr(C)` and starts with `u32 struct_size`, so the first
        // four bytes of the local `value` are that field.
        unsafe { std::ptr::write(&mut value as *mut T as *mut u32, size as u32) };
        // SAFETY: `out` is aligned and writable for `size` bytes (checked by read_versioned, which
        // also bounded `size` by `size_of::<T>()`, the size of `value`), and `value` is a local, so
        // the two regions do not overlap.
        unsafe { std::ptr::copy_nonoverlapping(&value as *const T as *const u8, out as *mut u8, size) };
        Ok(())
    })
}

/// Runs the body of an infallible C function (an accessor), returning `on_panic` if it panics.
pub(crate) fn value_call<T>(on_panic: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(on_panic)
}

/// A handle argument the signature already typed (`Option<&T>`): NULL is `VS_ERR_INVALID_ARGUMENT`.
pub(crate) fn need<'a, T>(p: Option<&'a T>, name: &str) -> Result<&'a T> {
    p.ok_or_else(|| Error::invalid(format!("{name} is NULL")))
}

/// A handle passed as `T *` (the header's type for handles that functions change through shared
/// state, such as a store being written): NULL is `VS_ERR_INVALID_ARGUMENT`.
///
/// # Safety
/// `p` is NULL or a handle of type `T` made by this library and not yet freed, valid for `'a`.
pub(crate) unsafe fn try_ref<'a, T: BoxedHandle>(p: *const T, name: &str) -> Result<&'a T> {
    // SAFETY: by this function's contract `p` is NULL (-> None) or points to a live `T`; every
    // access to a handle goes through shared references, so no `&mut T` aliases it.
    unsafe { p.as_ref() }.ok_or_else(|| Error::invalid(format!("{name} is NULL")))
}

/// A borrowed NUL-terminated UTF-8 string argument.
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string that stays valid and unchanged for `'a`.
pub(crate) unsafe fn try_str<'a>(p: *const c_char, name: &str) -> Result<&'a str> {
    // SAFETY: this function's contract, after the NULL check.
    let s = unsafe { try_cstr(p, name) }?;
    s.to_str().map_err(|e| {
        Error::invalid(format!("{name} is not valid UTF-8 (invalid byte at offset {})", e.valid_up_to()))
    })
}

/// Like [`try_str`], but NULL means "absent".
///
/// # Safety
/// As [`try_str`].
pub(crate) unsafe fn try_opt_str<'a>(p: *const c_char, name: &str) -> Result<Option<&'a str>> {
    if p.is_null() {
        Ok(None)
    } else {
        // SAFETY: this function's contract.
        unsafe { try_str(p, name) }.map(Some)
    }
}

/// A borrowed NUL-terminated string of any bytes (a path).
///
/// # Safety
/// As [`try_str`].
pub(crate) unsafe fn try_cstr<'a>(p: *const c_char, name: &str) -> Result<&'a CStr> {
    if p.is_null() {
        return Err(Error::invalid(format!("{name} is NULL")));
    }
    // SAFETY: not NULL, and NUL-terminated and valid for 'a by this function's contract.
    Ok(unsafe { CStr::from_ptr(p) })
}

/// A borrowed array of `len` values of `T`. NULL is allowed only when `len` is 0; a misaligned
/// pointer and a length no allocation can have are refused.
///
/// # Safety
/// When `len` > 0, `p` is NULL or points to `len` initialised values of `T` that stay valid and
/// unchanged for `'a`.
pub(crate) unsafe fn try_slice<'a, T>(p: *const T, len: usize, name: &str) -> Result<&'a [T]> {
    if len == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return Err(Error::invalid(format!("{name} is NULL but its length is {len}")));
    }
    if !p.is_aligned() {
        return Err(Error::invalid(format!("{name} is not aligned for {}", std::any::type_name::<T>())));
    }
    if len > isize::MAX as usize / std::mem::size_of::<T>().max(1) {
        return Err(Error::invalid(format!("{name} length {len} is impossibly large")));
    }
    // SAFETY: `p` is not NULL and aligned, `len * size_of::<T>()` fits in isize (checked above), and
    // the caller guarantees `len` initialised values that live, unchanged, for 'a.
    Ok(unsafe { std::slice::from_raw_parts(p, len) })
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
///
/// # Safety
/// `p` is NULL or points to a struct initialised by its `*_default()` constructor (so its first
/// `u32` is `struct_size` and at least that many bytes are readable), unchanged during the call.
pub(crate) unsafe fn try_versioned<T: Versioned>(p: *const T, name: &str) -> Result<T> {
    if p.is_null() {
        return Ok(T::defaults());
    }
    // SAFETY: this function's contract, after the NULL check.
    unsafe { read_versioned(p, name) }.map(|(value, _)| value)
}

/// [`try_versioned`] for a pointer known not to be NULL; also returns the caller's `struct_size`.
///
/// # Safety
/// As [`try_versioned`], and `p` is not NULL.
unsafe fn read_versioned<T: Versioned>(p: *const T, name: &str) -> Result<(T, usize)> {
    let mut out = T::defaults();
    if !p.is_aligned() {
        return Err(Error::invalid(format!("{name} is not properly aligned")));
    }
    // SAFETY: `p` is not NULL and aligned for T (so for its leading u32), and every version of the
    // struct starts with `uint32_t struct_size`, which the caller's constructor initialised.
    let size = unsafe { std::ptr::read(p as *const u32) } as usize;
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
    // SAFETY: the caller's struct has `size` readable bytes (its constructor set struct_size), `size`
    // is at most `size_of::<T>()` so it fits in `out`, a local that cannot overlap the caller's.
    // The bytes copied are fields a C program stored through their C types (integers, doubles,
    // pointers, and `bool`, which C keeps 0 or 1): each is a valid value of the Rust field type.
    unsafe { std::ptr::copy_nonoverlapping(p as *const u8, &mut out as *mut T as *mut u8, size) };
    Ok((out, size))
}

#[cfg(test)]
mod tests;
