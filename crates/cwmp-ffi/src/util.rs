//! Helpers every entry point uses: panic containment, C strings in and out, the last error.

use crate::{CWMP_ERR_INVALID_ARGUMENT, CWMP_ERR_PANIC};
use std::ffi::{c_char, c_int, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Mutex;

/// An error for the embedder: a status code and its text.
#[derive(Debug)]
pub(crate) struct FfiError {
    pub code: c_int,
    pub message: String,
}

impl FfiError {
    pub fn new(code: c_int, message: impl Into<String>) -> FfiError {
        FfiError {
            code,
            message: message.into(),
        }
    }

    pub fn invalid(message: impl Into<String>) -> FfiError {
        FfiError::new(CWMP_ERR_INVALID_ARGUMENT, message)
    }
}

/// Runs `f`, turning a panic into [`CWMP_ERR_PANIC`]: no unwind ever crosses into C.
pub(crate) fn guard(f: impl FnOnce() -> c_int) -> c_int {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(CWMP_ERR_PANIC)
}

/// A handle's last error text. Behind a mutex, because the thread-safe calls of a blocking
/// agent may fail on any thread.
#[derive(Debug, Default)]
pub(crate) struct LastError(Mutex<String>);

impl LastError {
    pub fn set(&self, message: &str) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = message.to_owned();
    }

    /// `Ok(code)` passes through; `Err` is recorded and its code returned.
    pub fn status(&self, r: Result<c_int, FfiError>) -> c_int {
        match r {
            Ok(c) => c,
            Err(e) => {
                self.set(&e.message);
                e.code
            }
        }
    }

    pub fn get(&self) -> String {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// A required string argument.
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string that stays valid and unchanged for `'a`.
pub(crate) unsafe fn str_arg<'a>(p: *const c_char, what: &str) -> Result<&'a str, FfiError> {
    if p.is_null() {
        return Err(FfiError::invalid(format!("{what} is NULL")));
    }
    // SAFETY: not NULL, and the caller guarantees a NUL-terminated string living for 'a.
    let s = unsafe { CStr::from_ptr(p) };
    s.to_str()
        .map_err(|_| FfiError::invalid(format!("{what} is not UTF-8")))
}

/// An optional string argument (NULL = `None`).
///
/// # Safety
/// As [`str_arg`].
pub(crate) unsafe fn opt_str_arg<'a>(
    p: *const c_char,
    what: &str,
) -> Result<Option<&'a str>, FfiError> {
    if p.is_null() {
        Ok(None)
    } else {
        // SAFETY: the caller's guarantee, passed on.
        unsafe { str_arg(p, what) }.map(Some)
    }
}

/// Copies `text` into the caller's buffer like `snprintf`: at most `size - 1` bytes and a
/// NUL (cut at a character boundary), nothing when `buf` is NULL or `size` is 0. Returns
/// the full length of `text` in bytes.
///
/// # Safety
/// `buf` is NULL or points to `size` writable bytes.
pub(crate) unsafe fn copy_out(text: &str, buf: *mut c_char, size: usize) -> usize {
    if !buf.is_null() && size > 0 {
        let mut n = text.len().min(size - 1);
        while !text.is_char_boundary(n) {
            n -= 1;
        }
        // SAFETY: `buf` has `size` writable bytes (caller) and `n + 1 <= size`; the source is
        // a live `&str` of at least `n` bytes, and a caller buffer cannot overlap it.
        unsafe {
            std::ptr::copy_nonoverlapping(text.as_ptr(), buf.cast::<u8>(), n);
            *buf.add(n) = 0;
        }
    }
    text.len()
}

/// A C string for handing out (interior NULs, which CWMP values cannot carry since XML
/// cannot, are dropped rather than failing).
pub(crate) fn c_string(s: &str) -> CString {
    CString::new(s).unwrap_or_else(|_| CString::new(s.replace('\0', "")).unwrap_or_default())
}
