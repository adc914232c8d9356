//! NumPy `.npy` I/O for the CLI, on top of `ndarray-npy`: writes float32 arrays, reads float32/float64 and
//! int32/int64 arrays as float64.
//!
//! Reading treats the file as untrusted. ndarray-npy allocates from the header's shape before it reads
//! the data and parses the header with a recursive parser (a header of 2 000 nested brackets overflows the
//! stack and aborts the process), so it never sees the file directly: only regular files are opened,
//! the file's size is checked against the caller's limit, the prelude and header are bounded (length,
//! bracket depth) here, and the bytes are then *viewed* (no allocation from the header) with ndarray-npy,
//! which checks that the data is exactly what the shape needs. Writing is atomic: a temporary file in
//! the target's directory, flushed to disk, then renamed over the target.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::Path;

use dgmf::error::{Error, ErrorKind, Result};
use dgmf::input_file::open_regular;
use dgmf::ndarray::{ArrayD, ArrayViewD};
use ndarray_npy::{ViewNpyError, ViewNpyExt, WriteNpyExt};

/// Longest `.npy` header read (NumPy itself refuses headers over 10 000 bytes by default).
pub const MAX_HEADER_BYTES: usize = 1 << 16;

/// Deepest bracket nesting accepted in a header: a plain array's header nests two levels (the dictionary
/// and the shape tuple); the limit keeps ndarray-npy's recursive parser far from the end of the stack.
pub const MAX_HEADER_DEPTH: usize = 8;

fn io_err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::Io, format!("{}: {e}", path.display()))
}

/// Writes an array (a prediction's mean, std or samples) as a little-endian float32 C-order `.npy`
/// file, atomically (see [`write_atomically`]).
pub fn write_array(path: &Path, a: &ArrayD<f32>) -> Result<()> {
    write_atomically(path, |w| {
        a.write_npy(w)
            .map_err(|e| std::io::Error::other(e.to_string()))
    })
}

/// Writes a file atomically: `write` fills a temporary file created in the target's directory, which is
/// flushed to disk (fsync) and then renamed over the target. A reader sees the old file or the complete
/// new one, never a part of one; a failure (disk full, a signal, a kill) leaves the target as it was;
/// several processes writing one path leave one writer's complete file. The target is `path`, or the file
/// it links to when `path` is a symbolic link ([`output_target`]: the link stays a link, as with `cp`). A
/// file that is replaced keeps its permission bits; a new one gets the usual mode (0666 less the umask).
pub fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let err = |e: std::io::Error| io_err(path, format!("cannot write the file: {e}"));
    let target = output_target(path)?;
    let dir = parent_dir(&target);
    let mode = match std::fs::metadata(&target) {
        Ok(m) if m.is_file() => m.permissions(),
        _ => std::fs::Permissions::from_mode(0o666),
    };
    let tmp = tempfile::Builder::new()
        .prefix(".dgmf-")
        .suffix(".tmp")
        .permissions(mode)
        .tempfile_in(dir)
        .map_err(err)?;
    {
        let mut w = BufWriter::with_capacity(1 << 16, tmp.as_file());
        write(&mut w).map_err(err)?;
        w.flush().map_err(err)?;
    }
    tmp.as_file().sync_all().map_err(err)?;
    // On failure the temporary file is removed when `PersistError` (which owns it) is dropped.
    tmp.persist(&target).map_err(|e| err(e.error))?;
    // Make the rename itself durable; a directory that cannot be synced (some file systems) is not an error.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// The directory a file path lives in: its parent, or `.` for a bare file name.
pub fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// The file an output path writes: `path` itself, or, when `path` is a symbolic link, the file the link
/// resolves to (so `--out current.onnx`, a link to `v3.onnx`, rewrites v3.onnx and keeps the link). A link
/// that leads nowhere is an error: which file it should create is a guess.
pub fn output_target(path: &Path) -> Result<std::path::PathBuf> {
    if path.file_name().is_none() {
        return Err(io_err(path, "not a file name"));
    }
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => std::fs::canonicalize(path).map_err(|e| {
            io_err(
                path,
                format!(
                    "a symbolic link that leads to no file ({e}); remove the link or name the file itself"
                ),
            )
        }),
        _ => Ok(path.to_path_buf()),
    }
}

/// A `.npy` file read into memory, whose header has been checked; [`NpyBytes::view`] gives the array.
struct NpyBytes {
    /// The whole file in 8-byte words, so that data at a 16- or 64-byte-aligned offset (every NumPy
    /// writer pads the header so) can be viewed in place as any element type.
    words: Vec<u64>,
    len: usize,
}

impl NpyBytes {
    fn bytes(&self) -> &[u8] {
        &bytemuck::cast_slice(&self.words)[..self.len]
    }
}

/// Reads `path` (a regular file only: `what` names it in messages, e.g. "--params-file") whose size is at
/// most `max_bytes`, and checks its prelude: magic, version, a header of at most [`MAX_HEADER_BYTES`]
/// that fits in the file, nested at most [`MAX_HEADER_DEPTH`] deep.
fn read_checked(path: &Path, what: &str, max_bytes: u64) -> Result<NpyBytes> {
    let (mut file, file_len) = open_regular(path, what, ErrorKind::Io)?;
    let bad = |why: &str| io_err(path, format!("not a readable .npy file: {why}"));
    if file_len > max_bytes {
        return Err(io_err(
            path,
            format!("the file holds {file_len} bytes, more than the {max_bytes} bytes allowed"),
        ));
    }
    let len = usize::try_from(file_len).map_err(|_| bad("too large"))?;
    let mut words = Vec::new();
    words
        .try_reserve_exact(len.div_ceil(8))
        .map_err(|_| io_err(path, format!("cannot allocate {len} bytes to read it")))?;
    words.resize(len.div_ceil(8), 0u64);
    let read = file.read_exact(&mut bytemuck::cast_slice_mut(&mut words)[..len]);
    read.map_err(|e| io_err(path, format!("the file changed while being read ({e})")))?;
    let mut extra = [0u8; 1];
    if file.read(&mut extra).map_err(|e| io_err(path, e))? != 0 {
        return Err(io_err(path, "the file grew while being read"));
    }
    let npy = NpyBytes { words, len };
    let header = header_text(npy.bytes()).map_err(|why| bad(&why))?;
    let depth = header
        .iter()
        .try_fold((0usize, 0usize), |(d, max), &c| match c {
            b'(' | b'[' | b'{' => Some((d + 1, max.max(d + 1))),
            b')' | b']' | b'}' => Some((d.checked_sub(1)?, max)),
            _ => Some((d, max)),
        });
    match depth {
        Some((_, max)) if max <= MAX_HEADER_DEPTH => Ok(npy),
        Some(_) => Err(bad(&format!(
            "the header nests brackets more than {MAX_HEADER_DEPTH} deep"
        ))),
        None => Err(bad("the header's brackets do not match")),
    }
}

/// The header dictionary's bytes, after checking the magic, the version and the header's length.
fn header_text(bytes: &[u8]) -> std::result::Result<&[u8], String> {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err("missing the \\x93NUMPY magic".into());
    }
    let (len, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        2 | 3 => return Err("truncated header".into()),
        v => return Err(format!("unsupported format version {v}")),
    };
    if len > MAX_HEADER_BYTES {
        return Err(format!(
            "the header claims {len} bytes, more than the {MAX_HEADER_BYTES} accepted"
        ));
    }
    bytes
        .get(start..start + len)
        .ok_or_else(|| "truncated header".to_string())
}

/// The array in `bytes` as float64 values, from any of the element types read; refused before the
/// conversion if the values would take more than `max_bytes`.
fn to_f64(bytes: &[u8], max_bytes: u64) -> std::result::Result<ArrayD<f64>, String> {
    fn convert<'a, T: ndarray_npy::ViewElement + Copy + 'a>(
        bytes: &'a [u8],
        max_bytes: u64,
        f: impl Fn(T) -> f64,
    ) -> std::result::Result<ArrayD<f64>, ViewNpyError> {
        let view = ArrayViewD::<T>::view_npy(bytes)?;
        if !view.is_standard_layout() {
            let why = "Fortran-order arrays are not supported; save with np.ascontiguousarray";
            return Err(ViewNpyError::InvalidData(why.into()));
        }
        if (view.len() as u64).saturating_mul(8) > max_bytes {
            let why = format!(
                "the array holds {} values, more than the {max_bytes} bytes allowed as float64",
                view.len()
            );
            return Err(ViewNpyError::InvalidData(why.into()));
        }
        Ok(view.mapv(f))
    }
    let mut r = convert::<f64>(bytes, max_bytes, |v| v);
    if let Err(ViewNpyError::WrongDescriptor(_)) = r {
        r = convert::<f32>(bytes, max_bytes, f64::from);
    }
    if let Err(ViewNpyError::WrongDescriptor(_)) = r {
        r = convert::<i64>(bytes, max_bytes, |v| v as f64);
    }
    if let Err(ViewNpyError::WrongDescriptor(_)) = r {
        r = convert::<i32>(bytes, max_bytes, f64::from);
    }
    r.map_err(describe)
}

/// ndarray-npy's error in the words of this tool's messages (what is wrong, and how to fix it).
fn describe(e: ViewNpyError) -> String {
    match e {
        ViewNpyError::Io(_) => "truncated header".into(),
        ViewNpyError::ParseHeader(e) => format!("malformed header ({e})"),
        ViewNpyError::LengthOverflow => "the shape has more elements than can be addressed".into(),
        ViewNpyError::WrongDescriptor(d) => format!(
            "dtype {d}: only little-endian float32/float64 ('<f4', '<f8') and int32/int64 ('<i4', '<i8') \
             arrays are supported"
        ),
        ViewNpyError::NonNativeEndian => {
            "big-endian data: only little-endian arrays are supported (save with arr.astype('<f8'))".into()
        }
        ViewNpyError::MisalignedData => {
            "the data does not start on an element boundary (the header is not padded as NumPy pads it)".into()
        }
        ViewNpyError::MissingBytes(n) => {
            format!("the header's shape needs {n} more data bytes than the file holds")
        }
        ViewNpyError::ExtraBytes(n) => {
            format!("the file holds {n} bytes more than the header's shape needs")
        }
        other => other.to_string(),
    }
}

/// Reads a float32, float64, int32 or int64 C-order `.npy` file (`what` names it in messages, e.g.
/// "--params-file") as float64. The file is refused before it is read if it is larger than `max_bytes`,
/// and after its header is checked if its values as float64 would take more than `max_bytes`.
pub fn read(path: &Path, what: &str, max_bytes: u64) -> Result<ArrayD<f64>> {
    let npy = read_checked(path, what, max_bytes)?;
    to_f64(npy.bytes(), max_bytes)
        .map_err(|why| io_err(path, format!("not a readable .npy file: {why}")))
}

/// A version-1.0 `.npy` header (magic, length, dictionary, padding) for dtype `descr` (e.g. `<f4`) and the
/// shape tuple text (e.g. `(2, 3)`): the tests build hostile files with it.
#[doc(hidden)]
pub fn encode_header(descr: &str, shape: &str) -> Vec<u8> {
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    // Pad so that magic (6) + version (2) + length (2) + header + '\n' is a multiple of 64.
    let pad = 64 - (10 + header.len() + 1) % 64;
    header.push_str(&" ".repeat(pad % 64));
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend((header.len() as u16).to_le_bytes());
    out.extend(header.as_bytes());
    out
}

/// [`read`] with the library's default memory limit: for trusted files (tests, the shipped test sets).
pub fn read_f64(path: &Path) -> Result<ArrayD<f64>> {
    read(path, "file", dgmf::predict::DEFAULT_MEMORY_LIMIT as u64)
}

#[cfg(test)]
mod tests;
