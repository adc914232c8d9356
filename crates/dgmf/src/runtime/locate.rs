//! Finding and loading the ONNX Runtime shared library, once per process.
//!
//! Search order: a path given through the API/CLI, `$DGMF_ORT_LIB`, `$ORT_DYLIB_PATH` — the first of these
//! that is set is authoritative, and if it does not load that is an error rather than a silent switch to
//! another copy — then, when none is set, the project-local copy fetched by `scripts/fetch-ort.sh`, a copy
//! beside the executable, and finally the system `libonnxruntime.so.1`.
//!
//! Every candidate is probed with our own `dlopen` first (symbol present, version new enough) before `ort`
//! is told about it: `ort` panics if any of its calls run before a library is set up, so nothing reaches it
//! until a library is known to be good.

use std::ffi::CStr;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use crate::error::{Error, ErrorKind, Result};

/// The ONNX Runtime version scripts/fetch-ort.sh installs and CI tests.
pub const TESTED_ORT_VERSION: &str = "1.31.1";
/// Oldest ONNX Runtime accepted: the C API level `ort` is compiled against (1.17).
pub const MIN_ORT_MINOR: u32 = ort::MINOR_VERSION;
/// The command that fetches the tested runtime into the project.
pub const FETCH_HINT: &str = "run `scripts/fetch-ort.sh` (it unpacks libonnxruntime.so from the PyPI wheel \
onnxruntime==1.31.1 into third_party/onnxruntime/), or set DGMF_ORT_LIB=/path/to/libonnxruntime.so.1.31.1";

/// The loaded runtime: where it came from, its version, and the process's one ORT environment.
#[derive(Debug)]
pub struct Runtime {
    pub path: PathBuf,
    pub version: String,
    pub(crate) env: ort::environment::Environment,
}

static RUNTIME: OnceLock<Runtime> = OnceLock::new();
static INIT: Mutex<()> = Mutex::new(());

/// Where a candidate came from, for the error message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Explicit,
    DgmfEnv,
    OrtEnv,
    ProjectLocal,
    BesideLib,
    BesideExe,
    System,
}

impl Source {
    fn label(self) -> &'static str {
        match self {
            Source::Explicit => "path given by the caller",
            Source::DgmfEnv => "$DGMF_ORT_LIB",
            Source::OrtEnv => "$ORT_DYLIB_PATH",
            Source::ProjectLocal => "project-local copy",
            Source::BesideLib => "beside libdgmf",
            Source::BesideExe => "beside the executable",
            Source::System => "system library search path",
        }
    }
}

fn candidates(explicit: Option<&Path>) -> Vec<(Source, PathBuf)> {
    let env = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let requested = [
        (Source::Explicit, explicit.map(Path::to_path_buf)),
        (Source::DgmfEnv, env("DGMF_ORT_LIB")),
        (Source::OrtEnv, env("ORT_DYLIB_PATH")),
    ];
    if let Some((source, Some(path))) = requested.into_iter().find(|(_, p)| p.is_some()) {
        return vec![(source, path)];
    }
    let file = format!("libonnxruntime.so.{TESTED_ORT_VERSION}");
    let mut list = Vec::new();
    // An installed libdgmf finds the copy `make install` puts beside it.
    if let Some(dir) = own_dir() {
        list.push((Source::BesideLib, dir.join(&file)));
    }
    list.push((
        Source::ProjectLocal,
        // The workspace root's third_party/ (this crate lives in crates/dgmf).
        Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../third_party/onnxruntime"
        ))
        .join(&file),
    ));
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
    {
        list.push((Source::BesideExe, dir.join(&file)));
        list.push((Source::BesideExe, dir.join("libonnxruntime.so.1")));
    }
    list.push((Source::System, PathBuf::from("libonnxruntime.so.1")));
    list
}

/// The directory of the object file holding this code (libdgmf.so, or the executable it is linked into).
fn own_dir() -> Option<PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    // SAFETY: dladdr only reads the loader's tables; a zeroed Dl_info is a valid out-parameter.
    let mut info: libc::Dl_info = unsafe { std::mem::zeroed() };
    let found = unsafe { libc::dladdr(own_dir as *const libc::c_void, &mut info) };
    if found == 0 || info.dli_fname.is_null() {
        return None;
    }
    let file = unsafe { CStr::from_ptr(info.dli_fname) };
    let path = Path::new(std::ffi::OsStr::from_bytes(file.to_bytes()))
        .canonicalize()
        .ok()?;
    path.parent().map(Path::to_path_buf)
}

/// Checks that a file is a complete ELF shared object before `dlopen` maps it: the loader maps segments
/// past the end of a truncated file and the process dies of SIGBUS when they are touched.
fn check_elf(path: &Path) -> std::result::Result<(), String> {
    use std::os::unix::fs::FileExt;
    // Only a regular file, opened without blocking (a FIFO would hang, /dev/zero never ends); only the
    // ELF header and the program headers are read, never the whole library.
    let (file, len) = crate::input_file::regular_file(path)?;
    let bad = |why: &str| Err(format!("is not a usable shared library ({why})"));
    let read = |offset: u64, n: usize| -> Option<Vec<u8>> {
        let mut buf = vec![0u8; n];
        file.read_exact_at(&mut buf, offset).ok().map(|_| buf)
    };
    let Some(head) = read(0, 64).filter(|h| &h[..4] == b"\x7fELF") else {
        return bad("no ELF header");
    };
    if head[4] != 2 || head[5] != 1 {
        return bad("not a 64-bit little-endian ELF file");
    }
    let u16_at = |b: &[u8], o: usize| u16::from_le_bytes([b[o], b[o + 1]]) as usize;
    let u64_at = |b: &[u8], o: usize| u64::from_le_bytes(b[o..o + 8].try_into().expect("8 bytes"));
    let (phoff, phentsize, phnum) = (
        u64_at(&head, 0x20),
        u16_at(&head, 0x36),
        u16_at(&head, 0x38),
    );
    let table = phentsize * phnum;
    if phentsize != 56 || phoff.saturating_add(table as u64) > len {
        return bad("program headers lie outside the file: truncated?");
    }
    let Some(headers) = read(phoff, table) else {
        return bad("program headers cannot be read: truncated?");
    };
    for h in headers.chunks_exact(phentsize) {
        // PT_LOAD segments must be backed by the file.
        if u32::from_le_bytes(h[..4].try_into().expect("4 bytes")) == 1 {
            let (offset, filesz) = (u64_at(h, 8), u64_at(h, 32));
            if offset.saturating_add(filesz) > len {
                return bad("a loadable segment runs past the end of the file: truncated?");
            }
        }
    }
    Ok(())
}

/// Opens `path` ourselves and reads the version it reports; a bare file name goes through the dynamic
/// loader's search path.
fn probe(path: &Path) -> std::result::Result<String, String> {
    let bare = path.components().count() == 1 && !path.is_absolute();
    if !bare && !path.exists() {
        return Err("not found".into());
    }
    if !bare {
        check_elf(path)?;
    }
    // SAFETY: loading ONNX Runtime runs its static initializers, which is what we intend.
    let lib =
        unsafe { libloading::Library::new(path) }.map_err(|e| format!("cannot be loaded: {e}"))?;
    // SAFETY: OrtGetApiBase is the documented C entry point of every ONNX Runtime build.
    let get_base: libloading::Symbol<unsafe extern "C" fn() -> *const ort::sys::OrtApiBase> =
        unsafe { lib.get(b"OrtGetApiBase\0") }
            .map_err(|_| "is not ONNX Runtime (no OrtGetApiBase symbol)".to_string())?;
    let base = unsafe { get_base() };
    if base.is_null() {
        return Err("OrtGetApiBase returned null".into());
    }
    let version = unsafe { CStr::from_ptr(((*base).GetVersionString)()) }
        .to_string_lossy()
        .into_owned();
    let minor = version
        .split('.')
        .nth(1)
        .and_then(|m| m.parse::<u32>().ok());
    match (version.split('.').next(), minor) {
        (Some("1"), Some(m)) if m >= MIN_ORT_MINOR => {}
        _ => {
            return Err(format!(
                "is ONNX Runtime {version}, but libdgmf needs 1.{MIN_ORT_MINOR} or newer (tested with {TESTED_ORT_VERSION})"
            ))
        }
    }
    // `ort` panics if the API table it asks for is missing; ask first.
    let api = unsafe { ((*base).GetApi)(ort::sys::ORT_API_VERSION) };
    if api.is_null() {
        return Err(format!(
            "reports version {version} but does not provide C API version {}",
            ort::sys::ORT_API_VERSION
        ));
    }
    Ok(version)
}

/// Loads ONNX Runtime (first call) and returns the process-wide runtime. Later calls return the same one;
/// asking for a different library then is an error, since a process can hold only one.
pub fn runtime(explicit: Option<&Path>) -> Result<&'static Runtime> {
    if let Some(rt) = RUNTIME.get() {
        return check_same(rt, explicit);
    }
    let _guard = INIT.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(rt) = RUNTIME.get() {
        return check_same(rt, explicit);
    }
    let mut tried = Vec::new();
    for (source, path) in candidates(explicit) {
        match probe(&path) {
            Ok(version) => {
                let env = start(&path)?;
                return Ok(RUNTIME.get_or_init(|| Runtime { path, version, env }));
            }
            Err(why) => tried.push(format!("{} ({}): {why}", path.display(), source.label())),
        }
    }
    Err(Error::new(
        ErrorKind::RuntimeNotFound,
        format!(
            "ONNX Runtime could not be loaded. Tried: {}. To fix: {FETCH_HINT}",
            tried.join("; ")
        ),
    ))
}

fn check_same(rt: &'static Runtime, explicit: Option<&Path>) -> Result<&'static Runtime> {
    match explicit {
        Some(p) if p != rt.path => Err(Error::new(
            ErrorKind::InvalidArgument,
            format!(
                "ONNX Runtime is already loaded from {} in this process; it cannot be switched to {} \
                 (one runtime per process): set the library path before the first model is loaded",
                rt.path.display(),
                p.display()
            ),
        )),
        _ => Ok(rt),
    }
}

/// Hands a probed library to `ort` and creates the process's environment.
fn start(path: &Path) -> Result<ort::environment::Environment> {
    let fail = |e: String| {
        Error::new(
            ErrorKind::RuntimeNotFound,
            format!(
                "ONNX Runtime at {} could not be initialized: {e}",
                path.display()
            ),
        )
    };
    let built = std::panic::catch_unwind(|| {
        ort::init_from(path)
            .map_err(|e| e.to_string())?
            .with_name("dgmf")
            .with_telemetry(false)
            .with_logger(std::sync::Arc::new(ort_log))
            .build()
            .map_err(|e| e.to_string())
    });
    match built {
        Ok(Ok(env)) => Ok(env),
        Ok(Err(e)) => Err(fail(e)),
        Err(_) => Err(fail("ort panicked during initialization".into())),
    }
}

/// ONNX Runtime's own log. By default it wrote warnings and errors to the host's stderr, colored with
/// escape sequences, although every failure also comes back as a status with its message: a library must
/// not write to its host's terminal. Set `DGMF_ORT_LOG=1` to see it (one escaped line per record).
fn ort_log(
    level: ort::logging::LogLevel,
    _category: &str,
    _id: &str,
    location: &str,
    message: &str,
) {
    use ort::logging::LogLevel;
    static SHOW: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    if !*SHOW.get_or_init(|| std::env::var_os("DGMF_ORT_LOG").is_some_and(|v| v != "0")) {
        return;
    }
    if matches!(level, LogLevel::Warning | LogLevel::Error | LogLevel::Fatal) {
        eprintln!(
            "onnxruntime {level:?} {}: {}",
            crate::error::printable(location),
            crate::error::printable(message)
        );
    }
}

/// The loaded runtime, if any model has been loaded in this process.
pub fn loaded() -> Option<&'static Runtime> {
    RUNTIME.get()
}
