//! The engine's exports: make and free an engine, process a batch, and read its state (snapshot,
//! stats, entities by type, entity events).

#![allow(non_camel_case_types)]
#![allow(unsafe_code)]

use crate::capi::boundary::{export, free_handle, given, input, new_handle, now_unix, optional_input};
use crate::capi::buffer::{re_buffer, set_error, to_buffer};
use crate::capi::status::re_status;
use crate::engine::Engine;
use std::cell::Cell;

/// Counters and gauges of an engine; defined once, in `stats.rs`.
pub type re_stats = crate::stats::Stats;

/// An engine: rules, index and pool. Opaque.
pub struct re_engine {
    engine: Engine,
}

/// Checks a JSON configuration exactly as `re_engine_new` would, without creating an engine, and
/// writes the effective configuration (every default filled in, as JSON) to `*effective_out`
/// unless it is NULL. On `RE_STATUS_INVALID_CONFIG` the message in `*error_out` names the
/// offending field or rule.
///
/// # Safety
/// `config` is valid for `config_len` bytes; `effective_out` and `error_out` are NULL or valid
/// for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn re_config_check(
    config: *const u8,
    config_len: usize,
    effective_out: *mut re_buffer,
    error_out: *mut re_buffer,
) -> re_status {
    export!(error_out, [json = unsafe { input(config, config_len) }], {
        match Engine::check_config(json) {
            Ok(effective) => {
                if let Some(out) = unsafe { effective_out.as_mut() } {
                    *out = to_buffer(serde_json::to_vec(&effective).expect("a configuration serializes"));
                }
                re_status::Ok
            }
            Err(e) => {
                unsafe { set_error(error_out, e.0) };
                re_status::InvalidConfig
            }
        }
    })
}

/// Creates an engine from a JSON configuration (`{}` for the defaults).
///
/// On success writes the engine to `*engine_out`; the caller frees it with `re_engine_free`.
/// On `RE_STATUS_INVALID_CONFIG` the message in `*error_out` names the offending field or rule.
///
/// # Safety
/// `config` is valid for `config_len` bytes; `engine_out` is valid for writes; `error_out` is
/// NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn re_engine_new(
    config: *const u8,
    config_len: usize,
    engine_out: *mut *mut re_engine,
    error_out: *mut re_buffer,
) -> re_status {
    unsafe {
        new_handle(config, config_len, engine_out, error_out, |json| Ok(re_engine { engine: Engine::from_json(json)? }))
    }
}

/// Frees an engine. NULL is a no-op. Must not be called twice for one engine, nor while another
/// call on it is running.
///
/// # Safety
/// `engine` is NULL or was returned by `re_engine_new` and not freed yet.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn re_engine_free(engine: *mut re_engine) {
    unsafe { free_handle(engine) };
    crate::answers::memory::release_free_memory();
}

/// Processes the resources of one batch.
///
/// `partition` names the batch's partition (tenant) when the engine takes it from its caller
/// (`partition.metadata` or `partition.auth`): empty when the caller could not tell, and then
/// the configured default partition is used. It is ignored otherwise, and may be NULL when
/// `partition_len` is 0.
///
/// `input` is the request and the answer is the answer that `include/WIRE.md` specifies: OTLP
/// resources in, per resource the attributes to upsert out, in order.
///
/// On success `*answer_len` is the answer's length. If it is at most `output_cap`, the answer is
/// in `output` and `*overflow` is empty (NULL, 0, 0); otherwise `output` is untouched and the
/// answer is in `*overflow`, which the caller frees with `re_buffer_free`. A caller that sizes
/// `output` for its usual batches thus makes one call and the library allocates nothing.
/// `output` may be NULL when `output_cap` is 0.
///
/// # Safety
/// `engine` is a live engine; `partition` is NULL (with `partition_len` 0) or valid for
/// `partition_len` bytes; `input` is valid for `input_len` bytes; `output` is NULL or valid
/// for writes of `output_cap` bytes; `answer_len` and `overflow` are valid for writes;
/// `error_out` is NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn re_engine_process(
    engine: *const re_engine,
    partition: *const u8,
    partition_len: usize,
    input: *const u8,
    input_len: usize,
    output: *mut u8,
    output_cap: usize,
    answer_len: *mut usize,
    overflow: *mut re_buffer,
    error_out: *mut re_buffer,
) -> re_status {
    export!(
        error_out,
        [
            engine = unsafe { engine.as_ref() },
            batch = unsafe { self::input(input, input_len) },
            partition = unsafe { optional_input(partition, partition_len) },
            answer_len = unsafe { answer_len.as_mut() },
            overflow = unsafe { overflow.as_mut() },
            () = given(!output.is_null() || output_cap == 0),
        ],
        {
            let mut answer = ANSWER.take();
            if let Err(e) = engine.engine.process_partition_into(partition, batch, now_unix(), &mut answer) {
                keep_answer_buffer(answer);
                unsafe { set_error(error_out, e.to_string()) };
                return re_status::InvalidInput;
            }
            *answer_len = answer.len();
            if answer.len() <= output_cap {
                if !answer.is_empty() {
                    unsafe { std::ptr::copy_nonoverlapping(answer.as_ptr(), output, answer.len()) };
                }
                *overflow = re_buffer { ptr: std::ptr::null_mut(), len: 0, cap: 0 };
                keep_answer_buffer(answer);
            } else {
                *overflow = to_buffer(answer);
            }
            re_status::Ok
        }
    )
}

thread_local! {
    /// The answer buffer of the calls on this thread, reused so that a warm call allocates nothing.
    static ANSWER: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

/// Answer buffers larger than this are freed rather than kept for the thread's next call.
const MAX_KEPT_ANSWER: usize = 1 << 20;

fn keep_answer_buffer(answer: Vec<u8>) {
    if answer.capacity() <= MAX_KEPT_ANSWER {
        ANSWER.set(answer);
    }
}

/// Writes the engine's state as snapshot bytes to `*out`.
///
/// # Safety
/// `engine` is a live engine; `out` is valid for writes; `error_out` is NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn re_engine_snapshot(
    engine: *const re_engine,
    out: *mut re_buffer,
    error_out: *mut re_buffer,
) -> re_status {
    export!(error_out, [engine = unsafe { engine.as_ref() }, out = unsafe { out.as_mut() }], {
        *out = to_buffer(engine.engine.snapshot(now_unix()));
        re_status::Ok
    })
}

/// Replaces the engine's state with a snapshot's. On `RE_STATUS_INVALID_SNAPSHOT` (truncated,
/// corrupt, other version) the state is unchanged and `*error_out` says why.
///
/// # Safety
/// `engine` is a live engine; `snapshot` is valid for `len` bytes; `error_out` is NULL or valid
/// for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn re_engine_restore(
    engine: *const re_engine,
    snapshot: *const u8,
    len: usize,
    error_out: *mut re_buffer,
) -> re_status {
    export!(error_out, [engine = unsafe { engine.as_ref() }, bytes = unsafe { input(snapshot, len) }], {
        let restored = engine.engine.restore(bytes, now_unix());
        crate::answers::memory::release_free_memory(); // what reading the snapshot took and let go
        match restored {
            Ok(_) => re_status::Ok,
            Err(e) => {
                unsafe { set_error(error_out, e.0) };
                re_status::InvalidSnapshot
            }
        }
    })
}

/// Writes the engine's counters to `*out`.
///
/// # Safety
/// `engine` is a live engine; `out` is valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn re_engine_stats(engine: *const re_engine, out: *mut re_stats) -> re_status {
    export!(std::ptr::null_mut(), [engine = unsafe { engine.as_ref() }, out = unsafe { out.as_mut() }], {
        *out = engine.engine.stats();
        re_status::Ok
    })
}

/// The engine's memory a processor reads to apply the answers it holds on its own while their
/// leases last (`include/WIRE.md`, "Leases"), and the counters it adds its own hits to. Every
/// pointer is valid until the engine is freed; read and add with atomic operations only.
#[repr(C)]
pub struct re_held_view {
    /// The change-stamp cells: a lease's `cell` indexes them, below `cells_len`.
    pub cells: *const u64,
    pub cells_len: usize,
    pub link_epoch: *const u64,
    /// The counters of `re_stats` of the same names: a hit adds 1 to `resources_processed` and
    /// `cache_hits`, and what its lease counts to the others.
    pub resources_processed: *mut u64,
    pub cache_hits: *mut u64,
    pub attributes_filled: *mut u64,
    pub merges: *mut u64,
    pub default_partition_resources: *mut u64,
    pub routes_mismatched: *mut u64,
}

/// Writes the engine's held view (`re_held_view`) to `*out`.
///
/// # Safety
/// `engine` is a live engine; `out` is valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn re_engine_held_view(engine: *const re_engine, out: *mut re_held_view) -> re_status {
    export!(std::ptr::null_mut(), [engine = unsafe { engine.as_ref() }, out = unsafe { out.as_mut() }], {
        let v = engine.engine.held_view();
        *out = re_held_view {
            cells: v.cells.as_ptr() as *const u64,
            cells_len: v.cells.len(),
            link_epoch: v.link_epoch.as_ptr(),
            resources_processed: v.resources_processed.as_ptr(),
            cache_hits: v.cache_hits.as_ptr(),
            attributes_filled: v.attributes_filled.as_ptr(),
            merges: v.merges.as_ptr(),
            default_partition_resources: v.default_partition_resources.as_ptr(),
            routes_mismatched: v.routes_mismatched.as_ptr(),
        };
        re_status::Ok
    })
}

/// Writes the number of entities held per entity type, as a JSON object (`{"k8s.pod": 12}`), to
/// `*out`. Entities restored from a snapshot count once they are seen again.
///
/// # Safety
/// `engine` is a live engine; `out` is valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn re_engine_entities_by_type(engine: *const re_engine, out: *mut re_buffer) -> re_status {
    export!(std::ptr::null_mut(), [engine = unsafe { engine.as_ref() }, out = unsafe { out.as_mut() }], {
        let json = serde_json::to_vec(&engine.engine.entities_by_type()).expect("a map of counts is JSON");
        *out = to_buffer(json);
        re_status::Ok
    })
}

/// Writes the entity events due now to `*out`, as OTLP `LogsData` bytes (`entity.state` and
/// `entity.delete` log records; empty when none are due), every entity being reported again
/// each `report_interval_seconds`. The first call starts tracking what the events need.
///
/// # Safety
/// `engine` is a live engine; `out` is valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn re_engine_entity_events(
    engine: *const re_engine,
    report_interval_seconds: u64,
    out: *mut re_buffer,
) -> re_status {
    export!(std::ptr::null_mut(), [engine = unsafe { engine.as_ref() }, out = unsafe { out.as_mut() }], {
        *out = to_buffer(engine.engine.entity_events(now_unix(), report_interval_seconds));
        re_status::Ok
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capi::buffer::re_buffer_free;
    use crate::capi::status::re_status_message;
    use std::ptr::{null, null_mut};

    fn zero() -> re_buffer {
        re_buffer { ptr: null_mut(), len: 0, cap: 0 }
    }

    fn text(b: &re_buffer) -> String {
        String::from_utf8_lossy(unsafe { std::slice::from_raw_parts(b.ptr, b.len) }).into_owned()
    }

    fn new_engine(json: &[u8]) -> *mut re_engine {
        let mut e = null_mut();
        assert_eq!(unsafe { re_engine_new(json.as_ptr(), json.len(), &mut e, null_mut()) }, re_status::Ok);
        e
    }

    #[test]
    fn null_pointers_are_refused_everywhere() {
        let mut e = null_mut();
        let mut out = zero();
        let mut stats = re_stats::default();
        unsafe {
            assert_eq!(re_engine_new(null(), 0, &mut e, null_mut()), re_status::NullParameter);
            assert_eq!(re_engine_new(b"{}".as_ptr(), 2, null_mut(), null_mut()), re_status::NullParameter);
            let (mut buf, mut n) = ([0u8; 16], 0usize);
            let p = buf.as_mut_ptr();
            let pod = ONE_POD.as_ptr();
            assert_eq!(
                re_engine_process(null(), null(), 0, pod, 0, p, 16, &mut n, &mut out, null_mut()),
                re_status::NullParameter
            );
            let engine = new_engine(b"{}");
            assert_eq!(
                re_engine_process(engine, null(), 0, null(), 0, p, 16, &mut n, &mut out, null_mut()),
                re_status::NullParameter
            );
            assert_eq!(
                re_engine_process(engine, null(), 3, pod, 0, p, 16, &mut n, &mut out, null_mut()),
                re_status::NullParameter
            );
            assert_eq!(
                re_engine_process(engine, null(), 0, pod, 0, null_mut(), 16, &mut n, &mut out, null_mut()),
                re_status::NullParameter
            );
            assert_eq!(
                re_engine_process(engine, null(), 0, pod, 0, p, 16, null_mut(), &mut out, null_mut()),
                re_status::NullParameter
            );
            assert_eq!(
                re_engine_process(engine, null(), 0, pod, 0, p, 16, &mut n, null_mut(), null_mut()),
                re_status::NullParameter
            );
            assert_eq!(re_engine_snapshot(null(), &mut out, null_mut()), re_status::NullParameter);
            assert_eq!(re_engine_snapshot(engine, null_mut(), null_mut()), re_status::NullParameter);
            assert_eq!(re_engine_restore(null(), b"".as_ptr(), 0, null_mut()), re_status::NullParameter);
            assert_eq!(re_engine_restore(engine, null(), 0, null_mut()), re_status::NullParameter);
            assert_eq!(re_engine_stats(null(), &mut stats), re_status::NullParameter);
            assert_eq!(re_engine_stats(engine, null_mut()), re_status::NullParameter);
            assert_eq!(re_engine_entities_by_type(null(), &mut out), re_status::NullParameter);
            assert_eq!(re_engine_entities_by_type(engine, null_mut()), re_status::NullParameter);
            assert_eq!(re_engine_entity_events(null(), 60, &mut out), re_status::NullParameter);
            assert_eq!(re_engine_entity_events(engine, 60, null_mut()), re_status::NullParameter);
            re_engine_free(engine);
            re_engine_free(null_mut());
            re_buffer_free(null_mut());
            let mut z = zero();
            re_buffer_free(&mut z);
            assert_eq!(re_status_message(3, null_mut(), 0), 42);
        }
    }

    #[test]
    fn config_check_validates_without_an_engine_and_fills_defaults() {
        unsafe {
            let mut effective = zero();
            let mut err = zero();
            let json = br#"{"ttl":"10m"}"#;
            assert_eq!(re_config_check(json.as_ptr(), json.len(), &mut effective, &mut err), re_status::Ok);
            let text = std::slice::from_raw_parts(effective.ptr, effective.len).to_vec();
            let v: serde_json::Value = serde_json::from_slice(&text).unwrap();
            assert_eq!(v["ttl"], "600s");
            assert_eq!(v["type_attribute"], "resource.type");
            re_buffer_free(&mut effective);
            let bad = br#"{"max_entities":0}"#;
            assert_eq!(re_config_check(bad.as_ptr(), bad.len(), null_mut(), &mut err), re_status::InvalidConfig);
            assert!(std::slice::from_raw_parts(err.ptr, err.len).starts_with(b"max_entities"));
            re_buffer_free(&mut err);
            assert_eq!(re_config_check(null(), 0, null_mut(), null_mut()), re_status::NullParameter);
            assert_eq!(re_config_check(json.as_ptr(), json.len(), null_mut(), null_mut()), re_status::Ok);
        }
    }

    /// `LogsData { resource_logs: [ { resource: { attributes: [ k8s.pod.uid = "abc" ] } } ] }`
    const ONE_POD: &[u8] = b"\x0a\x18\x0a\x16\x0a\x14\x0a\x0bk8s.pod.uid\x12\x05\x0a\x03abc";

    /// Processes `input` with an output buffer of `cap` bytes; returns the answer and whether it
    /// came back in the overflow buffer.
    fn process(engine: *const re_engine, input: &[u8], cap: usize) -> (Vec<u8>, bool) {
        let mut output = vec![0xeeu8; cap];
        let (mut n, mut overflow, mut err) = (usize::MAX, zero(), zero());
        let s = unsafe {
            re_engine_process(
                engine,
                null(),
                0,
                input.as_ptr(),
                input.len(),
                output.as_mut_ptr(),
                cap,
                &mut n,
                &mut overflow,
                &mut err,
            )
        };
        assert_eq!(s, re_status::Ok, "{}", if err.ptr.is_null() { String::new() } else { text(&err) });
        if overflow.ptr.is_null() {
            assert!(n <= cap);
            assert!(output[n..].iter().all(|b| *b == 0xee), "wrote past the answer");
            output.truncate(n);
            (output, false)
        } else {
            assert!(n > cap);
            assert!(output.iter().all(|b| *b == 0xee), "wrote the output buffer on overflow");
            let answer = unsafe { std::slice::from_raw_parts(overflow.ptr, overflow.len) }.to_vec();
            assert_eq!(answer.len(), n);
            unsafe { re_buffer_free(&mut overflow) };
            (answer, true)
        }
    }

    #[test]
    fn an_answer_fills_the_callers_buffer_or_overflows_whole() {
        let engine = new_engine(b"{}");
        let (full, overflowed) = process(engine, ONE_POD, 4096);
        assert!(!overflowed);
        let has = |s: &[u8]| full.windows(s.len()).any(|w| w == s);
        assert!(has(b"resource.id") && has(b"resource.type") && has(b"k8s.pod"), "{full:?}");
        for cap in [0, 1, full.len() - 1] {
            assert_eq!(process(engine, ONE_POD, cap), (full.clone(), true), "cap {cap}");
        }
        assert_eq!(process(engine, ONE_POD, full.len()), (full.clone(), false));
        unsafe { re_engine_free(engine) };
    }

    #[test]
    fn bad_config_gives_a_message() {
        let mut e = null_mut();
        let mut err = zero();
        for bad in [&b"{\"nope\":1}"[..], b"\xff\xfe", b"", b"[]"] {
            let status = unsafe { re_engine_new(bad.as_ptr(), bad.len(), &mut e, &mut err) };
            assert_eq!(status, re_status::InvalidConfig);
            assert!(e.is_null(), "out-param written on failure");
            assert!(!text(&err).is_empty());
            unsafe { re_buffer_free(&mut err) };
            assert!(err.ptr.is_null());
        }
    }

    #[test]
    fn empty_random_and_truncated_input_never_crash() {
        let engine = new_engine(b"{}");
        let mut out = zero();
        let mut err = zero();
        unsafe {
            let mut n = usize::MAX;
            assert_eq!(
                re_engine_process(engine, null(), 0, b"".as_ptr(), 0, null_mut(), 0, &mut n, &mut out, &mut err),
                re_status::Ok
            );
            assert_eq!((n, out.ptr.is_null()), (0, true));
            let mut buf = [0u8; 64];
            let mut seed = 0x9e37_79b9_7f4a_7c15u64;
            for n in 0..2000usize {
                let bytes: Vec<u8> = (0..n % 97)
                    .map(|_| {
                        seed ^= seed << 13;
                        seed ^= seed >> 7;
                        seed ^= seed << 17;
                        seed as u8
                    })
                    .collect();
                let (p, cap, mut len) = (buf.as_mut_ptr(), n % buf.len(), 0);
                let s = re_engine_process(
                    engine,
                    null(),
                    0,
                    bytes.as_ptr(),
                    bytes.len(),
                    p,
                    cap,
                    &mut len,
                    &mut out,
                    &mut err,
                );
                assert!(s == re_status::Ok || s == re_status::InvalidInput, "{s:?}");
                re_buffer_free(&mut out);
                re_buffer_free(&mut err);
            }
            let mut snap = zero();
            assert_eq!(re_engine_snapshot(engine, &mut snap, null_mut()), re_status::Ok);
            let cut = snap.len / 2;
            assert_eq!(re_engine_restore(engine, snap.ptr, cut, &mut err), re_status::InvalidSnapshot);
            assert!(text(&err).contains("truncated") || text(&err).contains("length"));
            re_buffer_free(&mut err);
            assert_eq!(re_engine_restore(engine, snap.ptr, snap.len, null_mut()), re_status::Ok);
            re_buffer_free(&mut snap);
            re_engine_free(engine);
        }
    }
}
