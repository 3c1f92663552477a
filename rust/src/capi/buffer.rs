//! Buffers the library hands to the caller, who owns them and frees them with `re_buffer_free`.

#![allow(non_camel_case_types)]
#![allow(unsafe_code)]

use std::panic::catch_unwind;

/// A byte buffer owned by the caller once returned; free it with `re_buffer_free`.
#[repr(C)]
#[derive(Debug)]
pub struct re_buffer {
    pub ptr: *mut u8,
    pub len: usize,
    pub cap: usize,
}

pub(crate) fn to_buffer(mut v: Vec<u8>) -> re_buffer {
    let b = re_buffer { ptr: v.as_mut_ptr(), len: v.len(), cap: v.capacity() };
    std::mem::forget(v);
    b
}

/// Writes `message` to `error_out` if the caller asked for it.
///
/// # Safety
/// `error_out` is NULL or valid for writes.
pub(crate) unsafe fn set_error(error_out: *mut re_buffer, message: String) {
    if let Some(out) = unsafe { error_out.as_mut() } {
        *out = to_buffer(message.into_bytes());
    }
}

/// Frees a buffer the library returned and zeroes it. NULL, and a zeroed buffer, are no-ops.
///
/// # Safety
/// `buffer` is NULL, or points to a zeroed `re_buffer` or one the library filled and not freed yet.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn re_buffer_free(buffer: *mut re_buffer) {
    let Some(b) = (unsafe { buffer.as_mut() }) else {
        return;
    };
    if !b.ptr.is_null() {
        let (ptr, len, cap) = (b.ptr, b.len, b.cap);
        let _ = catch_unwind(|| drop(unsafe { Vec::from_raw_parts(ptr, len, cap) }));
    }
    *b = re_buffer { ptr: std::ptr::null_mut(), len: 0, cap: 0 };
}
