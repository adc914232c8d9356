//! Minimal NumPy `.npy` I/O (format 1.0/2.0/3.0): writes float32 C-order arrays, reads float32/float64 and
//! int32/int64 C-order arrays. Enough for the CLI's query files and outputs, without pulling in ndarray.
//!
//! Reading treats the file as untrusted: only regular files are opened, the header is bounded and checked
//! (element count with checked arithmetic, data length equal to what the shape needs) before one byte of
//! data is read. Writing is atomic: a temporary file in the target's directory, flushed to disk, then
//! renamed over the target.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;

use dgmf::error::{Error, ErrorKind, Result};
use dgmf::input_file::open_regular;

/// Longest `.npy` header read (NumPy itself refuses headers over 10 000 bytes by default).
pub const MAX_HEADER_BYTES: usize = 1 << 16;

fn io_err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::Io, format!("{}: {e}", path.display()))
}

/// Writes `data` with `shape` as a little-endian float32 C-order `.npy` file, atomically (see
/// [`write_atomically`]).
pub fn write_f32(path: &Path, shape: &[usize], data: &[f32]) -> Result<()> {
    if shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d)) != Some(data.len()) {
        return Err(Error::new(
            ErrorKind::Internal,
            format!("npy: shape {shape:?} does not hold {} values", data.len()),
        ));
    }
    write_atomically(path, |w| encode_f32(w, shape, data))
}

/// A version-1.0 `.npy` header (magic, length, dictionary, padding) for dtype `descr` (e.g. `<f4`) and the
/// shape tuple text (e.g. `(2, 3)`); the tests also use it to build hostile files.
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

/// Writes an array (a prediction's mean, std or samples) as a float32 C-order `.npy` file, atomically.
pub fn write_array(path: &Path, a: &dgmf::ndarray::ArrayD<f32>) -> Result<()> {
    match a.as_slice() {
        Some(data) => write_f32(path, a.shape(), data),
        None => write_f32(path, a.shape(), &a.iter().copied().collect::<Vec<_>>()),
    }
}

/// Writes the `.npy` encoding of `data` with `shape` (float32, C order) to `w`.
pub fn encode_f32(w: &mut dyn Write, shape: &[usize], data: &[f32]) -> std::io::Result<()> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let tuple = if dims.len() == 1 {
        format!("({},)", dims[0])
    } else {
        format!("({})", dims.join(", "))
    };
    w.write_all(&encode_header("<f4", &tuple))?;
    let mut chunk = Vec::with_capacity(4 * 4096);
    for block in data.chunks(4096) {
        chunk.clear();
        for v in block {
            chunk.extend_from_slice(&v.to_le_bytes());
        }
        w.write_all(&chunk)?;
    }
    Ok(())
}

/// Writes a file atomically: `write` fills a temporary file created in `path`'s directory, which is flushed
/// to disk (fsync) and then renamed over `path`. A reader sees the old file or the complete new one, never
/// a part of one; a failure (disk full, a signal) leaves `path` as it was; several processes writing one
/// path leave one writer's complete file. The new file gets the usual mode (0666 less the umask).
pub fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let err = |e: std::io::Error| io_err(path, format!("cannot write the file: {e}"));
    if path.file_name().is_none() {
        return Err(io_err(path, "not a file name"));
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let tmp = tempfile::Builder::new()
        .prefix(".dgmf-")
        .suffix(".tmp")
        .permissions(std::fs::Permissions::from_mode(0o666))
        .tempfile_in(dir)
        .map_err(err)?;
    {
        let mut w = BufWriter::with_capacity(1 << 16, tmp.as_file());
        write(&mut w).map_err(err)?;
        w.flush().map_err(err)?;
    }
    tmp.as_file().sync_all().map_err(err)?;
    // On failure the temporary file is removed when `PersistError` (which owns it) is dropped.
    tmp.persist(path).map_err(|e| err(e.error))?;
    // Make the rename itself durable; a directory that cannot be synced (some file systems) is not an error.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Element type of a `.npy` file this module reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dtype {
    F64,
    F32,
    I64,
    I32,
}

impl Dtype {
    /// Bytes per element.
    pub fn width(self) -> usize {
        match self {
            Dtype::F64 | Dtype::I64 => 8,
            Dtype::F32 | Dtype::I32 => 4,
        }
    }
}

/// An opened `.npy` file whose header has been read and validated; the data has not been read yet, so a
/// caller can check [`NpyReader::len`] against its own limits first.
#[derive(Debug)]
pub struct NpyReader {
    file: File,
    path: std::path::PathBuf,
    shape: Vec<usize>,
    dtype: Dtype,
    len: usize,
}

impl NpyReader {
    /// Opens `path` (a regular file only: `what` names it in messages, e.g. "--params-file") and validates
    /// its header: magic, version, a header of at most [`MAX_HEADER_BYTES`], a supported little-endian
    /// dtype, C order, a shape whose element count does not overflow, and a file length equal to header
    /// plus exactly the data bytes the shape needs.
    pub fn open(path: &Path, what: &str) -> Result<NpyReader> {
        let (mut file, file_len) = open_regular(path, what, ErrorKind::Io)?;
        let bad = |why: &str| io_err(path, format!("not a readable .npy file: {why}"));
        let read_err = |e: std::io::Error| io_err(path, e);
        let mut prelude = [0u8; 10];
        if file_len < 10 {
            return Err(bad("missing the \\x93NUMPY magic"));
        }
        file.read_exact(&mut prelude).map_err(read_err)?;
        if &prelude[..6] != b"\x93NUMPY" {
            return Err(bad("missing the \\x93NUMPY magic"));
        }
        let (len, start) = match prelude[6] {
            1 => (u16::from_le_bytes([prelude[8], prelude[9]]) as usize, 10),
            2 | 3 => {
                let mut more = [0u8; 2];
                file.read_exact(&mut more)
                    .map_err(|_| bad("truncated header"))?;
                (
                    u32::from_le_bytes([prelude[8], prelude[9], more[0], more[1]]) as usize,
                    12,
                )
            }
            v => return Err(bad(&format!("unsupported format version {v}"))),
        };
        if len > MAX_HEADER_BYTES {
            return Err(bad(&format!(
                "the header claims {len} bytes, more than the {MAX_HEADER_BYTES} accepted"
            )));
        }
        if (start + len) as u64 > file_len {
            return Err(bad("truncated header"));
        }
        let mut header = vec![0u8; len];
        file.read_exact(&mut header)
            .map_err(|_| bad("truncated header"))?;
        let header = std::str::from_utf8(&header).map_err(|_| bad("header is not text"))?;
        let (shape, dtype) = parse_header(header).map_err(|why| bad(&why))?;
        let count = shape
            .iter()
            .try_fold(1usize, |n, &d| n.checked_mul(d))
            .ok_or_else(|| {
                bad(&format!(
                    "shape {shape:?} has more elements than can be addressed"
                ))
            })?;
        let data_bytes = count
            .checked_mul(dtype.width())
            .and_then(|b| u64::try_from(b).ok())
            .ok_or_else(|| {
                bad(&format!(
                    "shape {shape:?} needs more bytes than can be addressed"
                ))
            })?;
        let have = file_len - (start + len) as u64;
        if have != data_bytes {
            return Err(bad(&format!(
                "shape {shape:?} needs {data_bytes} data bytes, file has {have}"
            )));
        }
        Ok(NpyReader {
            file,
            path: path.to_path_buf(),
            shape,
            dtype,
            len: count,
        })
    }

    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    pub fn dtype(&self) -> Dtype {
        self.dtype
    }

    /// Number of elements (product of the shape).
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Reads the data as f64 values (exactly `len()` of them; a file that changed size meanwhile is an
    /// error).
    pub fn read_f64(self) -> Result<Vec<f64>> {
        let path = self.path;
        let err = |why: String| io_err(&path, why);
        let mut values = Vec::new();
        values
            .try_reserve_exact(self.len)
            .map_err(|_| err(format!("cannot allocate memory for {} values", self.len)))?;
        let width = self.dtype.width();
        let mut reader = BufReader::with_capacity(1 << 16, self.file);
        let mut buf = [0u8; 8];
        for _ in 0..self.len {
            reader
                .read_exact(&mut buf[..width])
                .map_err(|e| err(format!("the file changed while being read ({e})")))?;
            values.push(match self.dtype {
                Dtype::F64 => f64::from_le_bytes(buf),
                Dtype::F32 => f32::from_le_bytes([buf[0], buf[1], buf[2], buf[3]]) as f64,
                Dtype::I64 => i64::from_le_bytes(buf) as f64,
                Dtype::I32 => i32::from_le_bytes([buf[0], buf[1], buf[2], buf[3]]) as f64,
            });
        }
        let mut extra = [0u8; 1];
        if reader.read(&mut extra).map_err(|e| err(e.to_string()))? != 0 {
            return Err(err("the file grew while being read".into()));
        }
        Ok(values)
    }
}

/// Parses the header dictionary: (shape, dtype).
fn parse_header(header: &str) -> std::result::Result<(Vec<usize>, Dtype), String> {
    let field = |key: &str| -> Option<&str> {
        let at = header.find(&format!("'{key}'"))? + key.len() + 2;
        Some(header[at..].trim_start_matches([':', ' ']))
    };
    let descr = field("descr").ok_or("no descr")?;
    let dtype = [
        ("'<f8'", Dtype::F64),
        ("'<f4'", Dtype::F32),
        ("'<i8'", Dtype::I64),
        ("'<i4'", Dtype::I32),
    ]
    .iter()
    .find(|(d, _)| descr.starts_with(d))
    .map(|&(_, t)| t)
    .ok_or(
        "only little-endian float32/float64 ('<f4', '<f8') and int32/int64 ('<i4', '<i8') arrays are supported",
    )?;
    match field("fortran_order") {
        Some(v) if v.starts_with("False") => {}
        Some(v) if v.starts_with("True") => {
            return Err(
                "Fortran-order arrays are not supported; save with np.ascontiguousarray".into(),
            )
        }
        _ => return Err("no fortran_order".into()),
    }
    let shape_text = field("shape").ok_or("no shape")?;
    let inner = shape_text
        .strip_prefix('(')
        .and_then(|s| s.split_once(')'))
        .map(|(inner, _)| inner)
        .ok_or("malformed shape")?;
    let shape = inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<usize>()
                .map_err(|_| format!("malformed shape `({inner})`"))
        })
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok((shape, dtype))
}

/// Reads a float32, float64, int32 or int64 C-order `.npy` file; returns (shape, values as f64). Arrays
/// above [`dgmf::predict::DEFAULT_MEMORY_LIMIT`] bytes as f64 are refused before their data is read; use
/// [`NpyReader`] to apply another limit.
pub fn read_f64(path: &Path) -> Result<(Vec<usize>, Vec<f64>)> {
    let r = NpyReader::open(path, "file")?;
    let max = dgmf::predict::DEFAULT_MEMORY_LIMIT;
    if r.len().saturating_mul(8) > max {
        return Err(io_err(
            path,
            format!(
                "the array holds {} values, more than the {max} bytes allowed as float64",
                r.len()
            ),
        ));
    }
    let shape = r.shape().to_vec();
    Ok((shape, r.read_f64()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_float32() {
        let dir = std::env::temp_dir().join(format!("dgmf-npy-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for shape in [vec![5], vec![2, 3], vec![1, 2, 2, 1]] {
            let data: Vec<f32> = (0..shape.iter().product::<usize>())
                .map(|i| i as f32 * 0.5 - 1.0)
                .collect();
            let p = dir.join("a.npy");
            write_f32(&p, &shape, &data).unwrap();
            let raw = std::fs::read(&p).unwrap();
            assert_eq!(
                (raw.len() - 4 * data.len()) % 64,
                0,
                "header aligned to 64 bytes"
            );
            let (s, v) = read_f64(&p).unwrap();
            assert_eq!(s, shape);
            assert_eq!(v, data.iter().map(|&x| x as f64).collect::<Vec<_>>());
        }
        std::fs::write(dir.join("bad.npy"), b"hello").unwrap();
        assert!(read_f64(&dir.join("bad.npy"))
            .unwrap_err()
            .message()
            .contains("magic"));
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn reads_integer_arrays() {
        let dir = std::env::temp_dir().join(format!("dgmf-npy-int-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let header = |descr: &str| encode_header(descr, "(3,)");
        let mut i8s = header("<i8");
        for v in [2i64, -7, 0] {
            i8s.extend(v.to_le_bytes());
        }
        let mut i4s = header("<i4");
        for v in [1i32, 5, -3] {
            i4s.extend(v.to_le_bytes());
        }
        for (bytes, want) in [(i8s, [2.0, -7.0, 0.0]), (i4s, [1.0, 5.0, -3.0])] {
            let p = dir.join("i.npy");
            std::fs::write(&p, bytes).unwrap();
            assert_eq!(read_f64(&p).unwrap(), (vec![3], want.to_vec()));
        }
        let mut u1 = header("|u1");
        u1.extend([1u8, 2, 3]);
        std::fs::write(dir.join("u.npy"), u1).unwrap();
        assert!(read_f64(&dir.join("u.npy"))
            .unwrap_err()
            .message()
            .contains("int32/int64"));
        std::fs::remove_dir_all(&dir).ok();
    }
    fn npy_bytes(descr: &str, shape: &str, data: &[u8]) -> Vec<u8> {
        let mut out = encode_header(descr, shape);
        out.extend(data);
        out
    }

    #[test]
    fn the_header_is_validated_before_the_data_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.npy");
        let cases: [(Vec<u8>, &str); 6] = [
            // One value short, one value over: the data length must match the shape exactly.
            (
                npy_bytes("<f8", "(2, 2)", &[0; 24]),
                "needs 32 data bytes, file has 24",
            ),
            (
                npy_bytes("<f8", "(2, 2)", &[0; 40]),
                "needs 32 data bytes, file has 40",
            ),
            // An element count that overflows usize is an error, not a wrapped (small) count.
            (
                npy_bytes("<f8", "(4294967296, 4294967296, 4)", &[]),
                "more elements than can be addressed",
            ),
            (
                npy_bytes("<f8", "(2305843009213693952,)", &[]),
                "more bytes than can be addressed",
            ),
            (npy_bytes("<f8", "(2, x)", &[]), "malformed shape"),
            (npy_bytes("<f8", "2, 2", &[]), "malformed shape"),
        ];
        for (bytes, want) in cases {
            std::fs::write(&p, bytes).unwrap();
            let e = read_f64(&p).unwrap_err();
            assert!(e.message().contains(want), "{e} lacks {want}");
        }
        // A header length beyond the cap (format 2.0 has a 32-bit length) is refused, not allocated.
        let mut v2 = b"\x93NUMPY\x02\x00".to_vec();
        v2.extend(u32::MAX.to_le_bytes());
        std::fs::write(&p, v2).unwrap();
        let e = read_f64(&p).unwrap_err();
        assert!(e.message().contains("more than the 65536 accepted"), "{e}");
        // Not a regular file: refused without reading.
        let e = read_f64(Path::new("/dev/zero")).unwrap_err();
        assert!(e.message().contains("character device"), "{e}");
        // The reader reports shape and length before reading the data.
        std::fs::write(&p, npy_bytes("<f4", "(3,)", &[0; 12])).unwrap();
        let r = NpyReader::open(&p, "x").unwrap();
        assert_eq!((r.shape(), r.len(), r.dtype()), (&[3][..], 3, Dtype::F32));
        assert_eq!(r.read_f64().unwrap(), vec![0.0; 3]);
    }

    #[test]
    fn writes_are_atomic_and_leave_no_temporary_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.npy");
        std::fs::write(&p, b"old contents").unwrap();
        // A writer that fails half way leaves the old file and no temporary file.
        let e = write_atomically(&p, |w: &mut dyn Write| {
            w.write_all(b"partial")?;
            Err(std::io::Error::other("disk full"))
        })
        .unwrap_err();
        assert!(e.message().contains("disk full"), "{e}");
        assert_eq!(std::fs::read(&p).unwrap(), b"old contents");
        write_f32(&p, &[2], &[1.0, 2.0]).unwrap();
        assert_eq!(read_f64(&p).unwrap(), (vec![2], vec![1.0, 2.0]));
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["out.npy"]);
        // A directory that does not exist is an error naming the path.
        let missing = dir.path().join("nope/out.npy");
        let e = write_f32(&missing, &[1], &[0.0]).unwrap_err();
        assert!(e.message().contains("nope/out.npy"), "{e}");
    }
}
