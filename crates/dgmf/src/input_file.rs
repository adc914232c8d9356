//! Reading files named by untrusted input (a model path, a query file, a runtime library) without letting
//! the file decide how much is read or whether the read ever ends: only regular files are opened (a FIFO
//! would block for ever, `/dev/zero` never ends), the size is checked before a byte is read, and the read
//! stops at the cap even if the file grows meanwhile.

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::error::{Error, ErrorKind, Result};

/// Largest model file: a protobuf message cannot exceed 2 GiB − 1 bytes, so ONNX Runtime could not parse a
/// larger one anyway.
pub const MAX_MODEL_BYTES: u64 = (1 << 31) - 1;

/// Opens `path` for reading if it is a regular file (symlinks are followed, then the target is checked on
/// the open descriptor, so the check and the read see the same file). Returns the file and its size.
/// `what` names the file in messages ("model file", "--params-file"); `kind` is the error kind to report.
pub fn open_regular(path: &Path, what: &str, kind: ErrorKind) -> Result<(File, u64)> {
    regular_file(path).map_err(|why| {
        Error::new(
            kind,
            format!("cannot read {what} {}: {why}", path.display()),
        )
    })
}

/// [`open_regular`] with the reason alone as the error.
pub fn regular_file(path: &Path) -> std::result::Result<(File, u64), String> {
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer; O_NOCTTY: a terminal
    // device must not become the controlling terminal. Neither changes how a regular file is read.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(|e| e.to_string())?;
    let meta = file.metadata().map_err(|e| e.to_string())?;
    if !meta.is_file() {
        use std::os::unix::fs::FileTypeExt;
        let ft = meta.file_type();
        let what_it_is = if ft.is_dir() {
            "a directory"
        } else if ft.is_fifo() {
            "a FIFO (named pipe)"
        } else if ft.is_char_device() {
            "a character device"
        } else if ft.is_block_device() {
            "a block device"
        } else if ft.is_socket() {
            "a socket"
        } else {
            "not a regular file"
        };
        return Err(format!(
            "it is {what_it_is}; only regular files are read (copy the data into a file)"
        ));
    }
    Ok((file, meta.len()))
}

/// Reads a whole regular file of at most `max` bytes; larger files are refused before anything is read.
pub fn read_bounded(path: &Path, max: u64, what: &str, kind: ErrorKind) -> Result<Vec<u8>> {
    let (file, len) = open_regular(path, what, kind)?;
    let err = |why: String| {
        Error::new(
            kind,
            format!("cannot read {what} {}: {why}", path.display()),
        )
    };
    if len > max {
        return Err(err(format!(
            "it holds {len} bytes, more than the {max} allowed{}",
            if max == MAX_MODEL_BYTES {
                " (an ONNX protobuf file cannot exceed 2 GiB)"
            } else {
                ""
            }
        )));
    }
    let mut bytes = Vec::new();
    bytes
        .try_reserve_exact(len as usize)
        .map_err(|_| err(format!("cannot allocate {len} bytes to hold it")))?;
    // `take(max + 1)`: a file that grows while being read is noticed instead of read without end.
    file.take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| err(e.to_string()))?;
    if bytes.len() as u64 > max {
        return Err(err(format!(
            "it grew past the {max} bytes allowed while being read"
        )));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_is_not_a_regular_file() {
        for (path, want) in [
            ("/dev/zero", "character device"),
            ("/tmp", "directory"),
            ("/nonexistent/model.onnx", "No such file"),
        ] {
            let e = read_bounded(Path::new(path), 1 << 20, "model file", ErrorKind::ModelLoad)
                .unwrap_err();
            assert_eq!(e.kind(), ErrorKind::ModelLoad);
            assert!(e.message().contains(want), "{path}: {e}");
        }
    }

    #[test]
    fn a_fifo_is_refused_without_waiting_for_a_writer() {
        let dir = std::env::temp_dir().join(format!("dgmf-fifo-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let fifo = dir.join("pipe");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let e = read_bounded(&fifo, 1 << 20, "model file", ErrorKind::ModelLoad).unwrap_err();
        assert!(e.message().contains("FIFO"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_size_is_checked_before_reading() {
        let dir = std::env::temp_dir().join(format!("dgmf-big-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let sparse = dir.join("sparse.onnx");
        // 8 GiB that take no disk space: refused from the size alone.
        std::fs::File::create(&sparse)
            .unwrap()
            .set_len(8 << 30)
            .unwrap();
        let e =
            read_bounded(&sparse, MAX_MODEL_BYTES, "model file", ErrorKind::ModelLoad).unwrap_err();
        assert!(e.message().contains("cannot exceed 2 GiB"), "{e}");
        let small = dir.join("small");
        std::fs::write(&small, b"12345").unwrap();
        assert_eq!(
            read_bounded(&small, 5, "x", ErrorKind::Io).unwrap(),
            b"12345"
        );
        assert!(read_bounded(&small, 4, "x", ErrorKind::Io).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
