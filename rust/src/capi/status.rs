//! The status every fallible call returns, and its description.

#![allow(non_camel_case_types)]
#![allow(unsafe_code)]

/// Status of a call. Numbers are stable and never reused.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum re_status {
    Ok = 0,
    /// A required pointer argument was NULL.
    NullParameter = 1,
    /// The configuration was refused; the message says why.
    InvalidConfig = 2,
    /// The batch is not well-formed OTLP protobuf.
    InvalidInput = 3,
    /// The snapshot is truncated, corrupt or of another version; the state is unchanged.
    InvalidSnapshot = 4,
    /// The library panicked; the call had no effect the caller can rely on.
    Panic = 5,
}

impl re_status {
    /// Every status, so that a number maps back to one.
    const ALL: [re_status; 6] = [
        re_status::Ok,
        re_status::NullParameter,
        re_status::InvalidConfig,
        re_status::InvalidInput,
        re_status::InvalidSnapshot,
        re_status::Panic,
    ];

    fn from_number(n: u32) -> Option<re_status> {
        re_status::ALL.into_iter().find(|s| *s as u32 == n)
    }

    /// The short description `re_status_message` gives.
    fn message(self) -> &'static str {
        match self {
            re_status::Ok => "ok",
            re_status::NullParameter => "a required pointer argument was NULL",
            re_status::InvalidConfig => "the configuration was refused",
            re_status::InvalidInput => "the batch is not well-formed OTLP protobuf",
            re_status::InvalidSnapshot => "the snapshot is truncated, corrupt or of another version",
            re_status::Panic => "internal error (panic) in the resourceequality engine",
        }
    }
}

/// Copies a short description of `status` into `buf` (at most `len` bytes, not NUL-terminated)
/// and returns the full length of the description.
///
/// # Safety
/// `buf` is NULL (then only the length is returned) or valid for writes of `len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn re_status_message(status: u32, buf: *mut u8, len: usize) -> usize {
    let text = re_status::from_number(status).map_or("unknown status", re_status::message).as_bytes();
    if !buf.is_null() {
        let n = text.len().min(len);
        unsafe { std::ptr::copy_nonoverlapping(text.as_ptr(), buf, n) };
    }
    text.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ptr::null_mut;

    #[test]
    fn every_status_number_maps_back_to_its_status_and_message() {
        for (n, status) in re_status::ALL.into_iter().enumerate() {
            assert_eq!(status as u32, n as u32, "numbers are dense and in order");
            assert_eq!(re_status::from_number(n as u32), Some(status));
            let len = unsafe { re_status_message(n as u32, null_mut(), 0) };
            assert_eq!(len, status.message().len());
        }
        assert_eq!(re_status::from_number(re_status::ALL.len() as u32), None);
    }
}
