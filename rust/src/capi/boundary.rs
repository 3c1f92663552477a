//! What every export does at the boundary: a panic becomes `RE_STATUS_PANIC`, a required pointer
//! that is NULL becomes `RE_STATUS_NULL_PARAMETER` (`export!`), inputs are borrowed for the call
//! only, and handles are made and freed one way.

#![allow(unsafe_code)]

use crate::capi::buffer::{re_buffer, set_error};
use crate::capi::status::re_status;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{SystemTime, UNIX_EPOCH};

/// The body of every export that can fail: binds each required argument (`name = option`, an
/// `Option` that is `None` for a NULL pointer) or returns `RE_STATUS_NULL_PARAMETER`, then runs
/// `body`; a panic anywhere in it becomes `RE_STATUS_PANIC`, with a message in `error_out`.
macro_rules! export {
    ($error_out:expr, [$($name:pat = $arg:expr),* $(,)?], $body:block) => {
        $crate::capi::boundary::boundary($error_out, || {
            $(
                let Some($name) = ($arg) else {
                    return $crate::capi::status::re_status::NullParameter;
                };
            )*
            $body
        })
    };
}
pub(crate) use export;

/// `Some(())` when `ok`: a required-argument check that binds nothing (`export!`).
pub(crate) fn given(ok: bool) -> Option<()> {
    ok.then_some(())
}

/// Runs `body`, turning a panic into `RE_STATUS_PANIC` (with a message when possible).
pub(crate) fn boundary(error_out: *mut re_buffer, body: impl FnOnce() -> re_status) -> re_status {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(status) => status,
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            // Allocation may be what failed: a message is best effort.
            let _ =
                catch_unwind(AssertUnwindSafe(|| unsafe { set_error(error_out, format!("internal error: {what}")) }));
            re_status::Panic
        }
    }
}

/// # Safety
/// `ptr` is NULL or valid for reads of `len` bytes for the duration of the call.
pub(crate) unsafe fn input<'a>(ptr: *const u8, len: usize) -> Option<&'a [u8]> {
    if ptr.is_null() {
        return None;
    }
    Some(if len == 0 { &[] } else { unsafe { std::slice::from_raw_parts(ptr, len) } })
}

/// An input that may be absent: NULL with length 0 is empty; NULL with a length is `None`.
///
/// # Safety
/// As `input`.
pub(crate) unsafe fn optional_input<'a>(ptr: *const u8, len: usize) -> Option<&'a [u8]> {
    match unsafe { input(ptr, len) } {
        None if len == 0 => Some(&[]),
        found => found,
    }
}

pub(crate) fn now_unix() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// The body of every `*_new`: makes a handle with `make` from a JSON configuration and writes
/// it to `*out`, or says why the configuration was refused.
///
/// # Safety
/// `config` is valid for `config_len` bytes; `out` is valid for writes; `error_out` is NULL or
/// valid for writes.
pub(crate) unsafe fn new_handle<T>(
    config: *const u8,
    config_len: usize,
    out: *mut *mut T,
    error_out: *mut re_buffer,
    make: impl FnOnce(&[u8]) -> Result<T, crate::config::ConfigError>,
) -> re_status {
    boundary(error_out, || {
        let Some(json) = (unsafe { input(config, config_len) }) else {
            return re_status::NullParameter;
        };
        if out.is_null() {
            return re_status::NullParameter;
        }
        match make(json) {
            Ok(handle) => {
                unsafe { *out = Box::into_raw(Box::new(handle)) };
                re_status::Ok
            }
            Err(e) => {
                unsafe { set_error(error_out, e.0) };
                re_status::InvalidConfig
            }
        }
    })
}

/// The body of every `*_free`: drops a handle made by `new_handle`; NULL is a no-op.
///
/// # Safety
/// `handle` is NULL or was made by `new_handle` and not freed yet.
pub(crate) unsafe fn free_handle<T>(handle: *mut T) {
    if handle.is_null() {
        return;
    }
    let _ = catch_unwind(AssertUnwindSafe(|| drop(unsafe { Box::from_raw(handle) })));
}
