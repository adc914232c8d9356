//! The C ABI. Each export converts its C arguments, forwards to the engine, and converts the result back:
//! nothing else lives here. Every export runs inside [`guard`], so no panic crosses the boundary (it becomes
//! `DGMF_ERR_INTERNAL`), and every failure leaves its message in a thread-local slot read by
//! `dgmf_last_error`.

#![allow(non_camel_case_types)]

mod config;
mod model;
mod moments;
mod options;
mod predict;

pub use config::*;
pub use model::*;
pub use moments::*;
pub use options::*;
pub use predict::*;

use std::cell::RefCell;
use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

use dgmf::error::{Error, ErrorKind};

/// libdgmf's version, also available as `dgmf_version()`. These and the limits below are written out as
/// macros in include/dgmf.h by cbindgen, which reads the limits' values from the engine's constants (the
/// one place they are defined); scripts/gen-fortran.py writes them into the Fortran module (include/dgmf.f90).
pub const DGMF_VERSION_MAJOR: u32 = 0;
pub const DGMF_VERSION_MINOR: u32 = 1;
pub const DGMF_VERSION_PATCH: u32 = 0;

/// Most noise levels a schedule may have (dgmf_config_set_steps).
pub const DGMF_MAX_STEPS: usize = dgmf::samplers::MAX_STEPS;
/// Most Langevin corrector steps per noise level (dgmf_config_set_corrector).
pub const DGMF_MAX_CORRECTOR_STEPS: usize = dgmf::samplers::MAX_CORRECTOR_STEPS;
/// Noise levels of the recommended configuration: "ancestral" with this many levels (30 network
/// evaluations); see dgmf_config_create.
pub const DGMF_DEFAULT_STEPS: usize = dgmf::samplers::DEFAULT_STEPS;
/// Default most rows per network call (dgmf_config_set_max_batch).
pub const DGMF_DEFAULT_MAX_BATCH: usize = dgmf::predict::DEFAULT_MAX_BATCH;
/// Default bound on a prediction's buffers, 4 GiB (dgmf_config_set_memory_limit).
pub const DGMF_DEFAULT_MEMORY_LIMIT: usize = dgmf::predict::DEFAULT_MEMORY_LIMIT;
/// Most intra-op threads per session and most sessions per model (dgmf_options_set_threads,
/// dgmf_options_set_max_sessions).
pub const DGMF_MAX_THREADS: usize = dgmf::runtime::MAX_THREADS;

/// Result of every fallible function. 0 is success; every other value has a message in
/// `dgmf_last_error()`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum dgmf_status {
    DGMF_OK = 0,
    /// A required pointer argument was NULL.
    DGMF_ERR_NULL_ARGUMENT = 1,
    /// An argument is invalid: NaN or out-of-range parameter, bad fidelity, unknown sampler name, ...
    DGMF_ERR_INVALID_ARGUMENT = 2,
    /// An output buffer is shorter than the result; the message gives the length needed.
    DGMF_ERR_BUFFER_TOO_SMALL = 3,
    /// The model file breaks the dgmf model contract (docs/model-contract.md).
    DGMF_ERR_CONTRACT = 4,
    /// The model file cannot be read or is not an ONNX model ONNX Runtime accepts.
    DGMF_ERR_MODEL_LOAD = 5,
    /// The ONNX Runtime shared library was not found or could not be loaded.
    DGMF_ERR_RUNTIME_NOT_FOUND = 6,
    /// The requested execution provider (CUDA, TensorRT) is not available.
    DGMF_ERR_PROVIDER_UNAVAILABLE = 7,
    /// The progress callback cancelled the run.
    DGMF_ERR_CANCELLED = 8,
    /// ONNX Runtime failed while running the network.
    DGMF_ERR_INFERENCE = 9,
    /// A file could not be read or written.
    DGMF_ERR_IO = 10,
    /// A bug in libdgmf (including a caught panic); please report it with the message.
    DGMF_ERR_INTERNAL = 11,
}

use dgmf_status::*;

impl From<ErrorKind> for dgmf_status {
    fn from(kind: ErrorKind) -> Self {
        match kind {
            ErrorKind::InvalidArgument => DGMF_ERR_INVALID_ARGUMENT,
            ErrorKind::BufferTooSmall => DGMF_ERR_BUFFER_TOO_SMALL,
            ErrorKind::Contract => DGMF_ERR_CONTRACT,
            ErrorKind::ModelLoad => DGMF_ERR_MODEL_LOAD,
            ErrorKind::RuntimeNotFound => DGMF_ERR_RUNTIME_NOT_FOUND,
            ErrorKind::ProviderUnavailable => DGMF_ERR_PROVIDER_UNAVAILABLE,
            ErrorKind::Cancelled => DGMF_ERR_CANCELLED,
            ErrorKind::Inference => DGMF_ERR_INFERENCE,
            ErrorKind::Io => DGMF_ERR_IO,
            ErrorKind::Internal => DGMF_ERR_INTERNAL,
        }
    }
}

/// A failure on the C side: a status plus the message for `dgmf_last_error`.
pub(crate) struct Failure(dgmf_status, String);

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure(e.kind().into(), e.message().to_string())
    }
}

pub(crate) type CResult<T = ()> = Result<T, Failure>;

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

fn set_last_error(message: &str) {
    // Interior NULs cannot appear in a C string; replace them rather than lose the message.
    let text = CString::new(message.replace('\0', "\\0")).unwrap_or_default();
    LAST_ERROR.with(|slot| *slot.borrow_mut() = text);
}

/// Runs an export's body: catches panics, records the message of a failure, returns the status.
pub(crate) fn guard(body: impl FnOnce() -> CResult) -> dgmf_status {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => DGMF_OK,
        Ok(Err(Failure(status, message))) => {
            set_last_error(&message);
            status
        }
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            set_last_error(&format!(
                "internal error in libdgmf (please report): {what}"
            ));
            DGMF_ERR_INTERNAL
        }
    }
}

/// A NULL check with the argument's name in the message.
pub(crate) fn non_null<'a, T>(ptr: *const T, name: &str) -> CResult<&'a T> {
    // SAFETY: the caller promises a non-NULL pointer is valid for the call's duration (header contract).
    unsafe { ptr.as_ref() }
        .ok_or_else(|| Failure(DGMF_ERR_NULL_ARGUMENT, format!("`{name}` is NULL")))
}

pub(crate) fn non_null_mut<'a, T>(ptr: *mut T, name: &str) -> CResult<&'a mut T> {
    // SAFETY: as for `non_null`; the caller does not share the object during the call.
    unsafe { ptr.as_mut() }
        .ok_or_else(|| Failure(DGMF_ERR_NULL_ARGUMENT, format!("`{name}` is NULL")))
}

/// A C string argument as UTF-8.
pub(crate) fn c_str<'a>(ptr: *const c_char, name: &str) -> CResult<&'a str> {
    non_null(ptr, name)?;
    // SAFETY: non-NULL and NUL-terminated per the header contract.
    unsafe { CStr::from_ptr(ptr) }.to_str().map_err(|_| {
        Failure(
            DGMF_ERR_INVALID_ARGUMENT,
            format!("`{name}` is not valid UTF-8"),
        )
    })
}

/// A C string argument naming a file. Paths are bytes on Unix and need not be UTF-8 (a Latin-1 file name is
/// a valid path), so they are not decoded.
pub(crate) fn c_path(ptr: *const c_char, name: &str) -> CResult<std::path::PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    non_null(ptr, name)?;
    // SAFETY: non-NULL and NUL-terminated per the header contract.
    let bytes = unsafe { CStr::from_ptr(ptr) }.to_bytes();
    if bytes.is_empty() {
        return Err(Failure(
            DGMF_ERR_INVALID_ARGUMENT,
            format!("`{name}` is an empty string; give a file path"),
        ));
    }
    Ok(std::ffi::OsStr::from_bytes(bytes).into())
}

/// Refuses a length no buffer can have (more than isize::MAX bytes: building a slice of it is undefined
/// behaviour, whatever the caller passed) and a pointer not aligned for its element type.
fn check_extent<T>(ptr: *const T, len: usize, name: &str) -> CResult {
    let size = std::mem::size_of::<T>().max(1);
    if len > isize::MAX as usize / size {
        return Err(invalid(format!(
            "`{name}`: a length of {len} elements ({}-byte) is larger than any buffer can be; pass the \
             number of elements the buffer holds",
            size
        )));
    }
    if !ptr.is_aligned() {
        return Err(invalid(format!(
            "`{name}` is not aligned to {} bytes: pass a pointer to an array of its element type",
            std::mem::align_of::<T>()
        )));
    }
    Ok(())
}

/// A C array argument; `len` may be 0 with a NULL pointer.
pub(crate) fn c_slice<'a, T>(ptr: *const T, len: usize, name: &str) -> CResult<&'a [T]> {
    if len == 0 {
        return Ok(&[]);
    }
    non_null(ptr, name)?;
    check_extent(ptr, len, name)?;
    // SAFETY: the header documents that `ptr` holds `len` elements.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

pub(crate) fn c_slice_mut<'a, T>(ptr: *mut T, len: usize, name: &str) -> CResult<&'a mut [T]> {
    if len == 0 {
        return Ok(&mut []);
    }
    non_null(ptr, name)?;
    check_extent(ptr.cast_const(), len, name)?;
    // SAFETY: the header documents that `ptr` holds `len` writable elements.
    Ok(unsafe { std::slice::from_raw_parts_mut(ptr, len) })
}

/// Writes `value` through an optional output pointer (NULL: the caller does not want it).
pub(crate) fn put<T>(ptr: *mut T, value: T) {
    // SAFETY: NULL or writable per the header contract.
    if let Some(p) = unsafe { ptr.as_mut() } {
        *p = value;
    }
}

/// Hands a new object to C.
pub(crate) fn publish<T>(value: T) -> *mut T {
    Box::into_raw(Box::new(value))
}

/// Frees an object created by `publish`; NULL is a no-op.
pub(crate) fn free<T>(ptr: *mut T) {
    if !ptr.is_null() {
        // SAFETY: created by `publish` and not yet freed (header contract: destroy once).
        drop(unsafe { Box::from_raw(ptr) });
    }
}

pub(crate) fn invalid(message: impl Into<String>) -> Failure {
    Failure(DGMF_ERR_INVALID_ARGUMENT, message.into())
}

/// The message of the last failed call on the calling thread ("" if none). The pointer stays valid until
/// the next failing call on this thread; copy it if you need it longer.
#[no_mangle]
pub extern "C" fn dgmf_last_error() -> *const c_char {
    LAST_ERROR.with(|slot| slot.borrow().as_ptr())
}

/// A static description of a status code (never NULL; "unknown status code" for values that are not a
/// dgmf_status). Takes an int so that any value a caller passes is defined behaviour.
#[no_mangle]
pub extern "C" fn dgmf_status_string(status: i32) -> *const c_char {
    let s: &'static CStr = match status {
        0 => c"ok",
        1 => c"a required pointer argument was NULL",
        2 => c"invalid argument",
        3 => c"output buffer too small",
        4 => c"the model breaks the dgmf model contract",
        5 => c"the model could not be loaded",
        6 => c"ONNX Runtime could not be loaded",
        7 => c"execution provider unavailable",
        8 => c"cancelled by the progress callback",
        9 => c"ONNX Runtime failed while running the network",
        10 => c"I/O error",
        11 => c"internal error in libdgmf",
        _ => c"unknown status code",
    };
    s.as_ptr()
}

/// The library version as "MAJOR.MINOR.PATCH" (static string).
#[no_mangle]
pub extern "C" fn dgmf_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_macros_match_cargo_toml() {
        assert_eq!(
            DGMF_VERSION_MAJOR.to_string(),
            env!("CARGO_PKG_VERSION_MAJOR")
        );
        assert_eq!(
            DGMF_VERSION_MINOR.to_string(),
            env!("CARGO_PKG_VERSION_MINOR")
        );
        assert_eq!(
            DGMF_VERSION_PATCH.to_string(),
            env!("CARGO_PKG_VERSION_PATCH")
        );
        let v = unsafe { CStr::from_ptr(dgmf_version()) }.to_str().unwrap();
        assert_eq!(v, env!("CARGO_PKG_VERSION"));
    }

    /// include/dgmf.h writes its macros out (cbindgen.toml); they must say what the code does.
    #[test]
    fn header_macros_match_the_code() {
        let header =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../include/dgmf.h"))
                .unwrap();
        let defines: std::collections::BTreeMap<&str, &str> = header
            .lines()
            .filter_map(|l| l.strip_prefix("#define "))
            .map(|l| l.split_once(' ').unwrap_or((l, "")))
            .collect();
        let want = [
            (
                "DGMF_VERSION_MAJOR",
                env!("CARGO_PKG_VERSION_MAJOR").to_string(),
            ),
            (
                "DGMF_VERSION_MINOR",
                env!("CARGO_PKG_VERSION_MINOR").to_string(),
            ),
            (
                "DGMF_VERSION_PATCH",
                env!("CARGO_PKG_VERSION_PATCH").to_string(),
            ),
            ("DGMF_MAX_STEPS", DGMF_MAX_STEPS.to_string()),
            (
                "DGMF_MAX_CORRECTOR_STEPS",
                DGMF_MAX_CORRECTOR_STEPS.to_string(),
            ),
            ("DGMF_DEFAULT_STEPS", DGMF_DEFAULT_STEPS.to_string()),
            ("DGMF_DEFAULT_MAX_BATCH", DGMF_DEFAULT_MAX_BATCH.to_string()),
            ("DGMF_DEFAULT_MEMORY_LIMIT", "((size_t)4 << 30)".to_string()),
            ("DGMF_MAX_THREADS", DGMF_MAX_THREADS.to_string()),
        ];
        for (name, value) in &want {
            assert_eq!(defines.get(name), Some(&value.as_str()), "{name}");
        }
        assert_eq!(DGMF_DEFAULT_MEMORY_LIMIT, 4 << 30);
        // Nothing else but the include guard.
        assert!(defines.contains_key("DGMF_H"));
        assert_eq!(defines.len(), want.len() + 1, "{defines:?}");
    }

    #[test]
    fn every_status_has_a_string() {
        for code in [
            DGMF_OK,
            DGMF_ERR_NULL_ARGUMENT,
            DGMF_ERR_INVALID_ARGUMENT,
            DGMF_ERR_BUFFER_TOO_SMALL,
            DGMF_ERR_CONTRACT,
            DGMF_ERR_MODEL_LOAD,
            DGMF_ERR_RUNTIME_NOT_FOUND,
            DGMF_ERR_PROVIDER_UNAVAILABLE,
            DGMF_ERR_CANCELLED,
            DGMF_ERR_INFERENCE,
            DGMF_ERR_IO,
            DGMF_ERR_INTERNAL,
        ] {
            let s = unsafe { CStr::from_ptr(dgmf_status_string(code as i32)) }
                .to_str()
                .unwrap();
            assert_ne!(s, "unknown status code", "{code:?}");
        }
        let s = unsafe { CStr::from_ptr(dgmf_status_string(99)) };
        assert_eq!(s.to_str().unwrap(), "unknown status code");
    }

    #[test]
    fn panics_become_internal_errors() {
        let status = guard(|| panic!("boom"));
        assert_eq!(status, DGMF_ERR_INTERNAL);
        let msg = unsafe { CStr::from_ptr(dgmf_last_error()) }
            .to_str()
            .unwrap();
        assert!(msg.contains("boom"), "{msg}");
    }
}
