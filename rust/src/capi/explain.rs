//! The explainer's exports (`explain`), for the `explain` tool.

#![allow(non_camel_case_types)]
// The C ABI is the one place that needs `unsafe` (the crate denies it elsewhere).
#![allow(unsafe_code)]

use crate::capi::boundary::{export, free_handle, input, new_handle, now_unix, optional_input};
use crate::capi::buffer::{re_buffer, set_error, to_buffer};
use crate::capi::status::re_status;
use crate::explain::Explainer;
use parking_lot::Mutex;

/// An explainer: an engine that records why it decided what it did. Opaque.
pub struct re_explainer {
    explainer: Mutex<Explainer>,
}

/// Creates an explainer from an engine configuration (JSON, as `re_engine_new` takes it).
///
/// # Safety
/// `config` is valid for `config_len` bytes; `explainer_out` is valid for writes; `error_out` is
/// NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn re_explainer_new(
    config: *const u8,
    config_len: usize,
    explainer_out: *mut *mut re_explainer,
    error_out: *mut re_buffer,
) -> re_status {
    unsafe {
        new_handle(config, config_len, explainer_out, error_out, |json| {
            Ok(re_explainer { explainer: Mutex::new(Explainer::from_json(json)?) })
        })
    }
}

/// Processes one batch (a request as `re_engine_process` takes it, of partition `partition`)
/// and records why each resource was decided as it was.
///
/// # Safety
/// `explainer` is a live explainer; `partition` is NULL (with `partition_len` 0) or valid for
/// `partition_len` bytes; `input` is valid for `input_len` bytes; `error_out` is NULL or valid
/// for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn re_explainer_add(
    explainer: *const re_explainer,
    partition: *const u8,
    partition_len: usize,
    input: *const u8,
    input_len: usize,
    error_out: *mut re_buffer,
) -> re_status {
    export!(
        error_out,
        [
            explainer = unsafe { explainer.as_ref() },
            batch = unsafe { self::input(input, input_len) },
            partition = unsafe { optional_input(partition, partition_len) },
        ],
        {
            match explainer.explainer.lock().add(partition, batch, now_unix()) {
                Ok(()) => re_status::Ok,
                Err(e) => {
                    unsafe { set_error(error_out, e.to_string()) };
                    re_status::InvalidInput
                }
            }
        }
    )
}

/// Writes the explanations so far, and their summary, as JSON to `*out`.
///
/// # Safety
/// `explainer` is a live explainer; `out` is valid for writes; `error_out` is NULL or valid for
/// writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn re_explainer_report(
    explainer: *const re_explainer,
    out: *mut re_buffer,
    error_out: *mut re_buffer,
) -> re_status {
    export!(error_out, [explainer = unsafe { explainer.as_ref() }, out = unsafe { out.as_mut() }], {
        let report = explainer.explainer.lock().report();
        let json = serde_json::to_vec(&report).expect("a report is plain data");
        *out = to_buffer(json);
        re_status::Ok
    })
}

/// Frees an explainer. NULL is a no-op.
///
/// # Safety
/// `explainer` is NULL or was returned by `re_explainer_new` and not freed yet.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn re_explainer_free(explainer: *mut re_explainer) {
    unsafe { free_handle(explainer) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ptr::{null, null_mut};

    #[test]
    fn null_pointers_and_bad_input_are_refused() {
        let zero = || re_buffer { ptr: null_mut(), len: 0, cap: 0 };
        unsafe {
            let mut e = null_mut();
            assert_eq!(re_explainer_new(null(), 0, &mut e, null_mut()), re_status::NullParameter);
            assert_eq!(re_explainer_new(b"{}".as_ptr(), 2, null_mut(), null_mut()), re_status::NullParameter);
            let mut err = zero();
            assert_eq!(re_explainer_new(b"{\"x\":1}".as_ptr(), 7, &mut e, &mut err), re_status::InvalidConfig);
            crate::capi::buffer::re_buffer_free(&mut err);
            assert_eq!(re_explainer_new(b"{}".as_ptr(), 2, &mut e, null_mut()), re_status::Ok);
            assert_eq!(re_explainer_add(null(), null(), 0, b"".as_ptr(), 0, null_mut()), re_status::NullParameter);
            assert_eq!(re_explainer_add(e, null(), 0, null(), 0, null_mut()), re_status::NullParameter);
            assert_eq!(re_explainer_add(e, null(), 2, b"".as_ptr(), 0, null_mut()), re_status::NullParameter);
            let mut err = zero();
            assert_eq!(re_explainer_add(e, null(), 0, [0x0a, 0xff].as_ptr(), 2, &mut err), re_status::InvalidInput);
            assert!(!err.ptr.is_null());
            crate::capi::buffer::re_buffer_free(&mut err);
            let mut out = zero();
            assert_eq!(re_explainer_report(null(), &mut out, null_mut()), re_status::NullParameter);
            assert_eq!(re_explainer_report(e, null_mut(), null_mut()), re_status::NullParameter);
            assert_eq!(re_explainer_report(e, &mut out, null_mut()), re_status::Ok);
            let json = std::slice::from_raw_parts(out.ptr, out.len);
            assert!(serde_json::from_slice::<serde_json::Value>(json).unwrap()["summary"].is_object());
            crate::capi::buffer::re_buffer_free(&mut out);
            re_explainer_free(e);
            re_explainer_free(null_mut());
        }
    }
}
