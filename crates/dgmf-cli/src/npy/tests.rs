use super::*;
use dgmf::ndarray::{ArrayD, IxDyn};

fn npy_bytes(descr: &str, shape: &str, data: &[u8]) -> Vec<u8> {
    let mut out = encode_header(descr, shape);
    out.extend(data);
    out
}

#[test]
fn round_trips_float32() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.npy");
    for shape in [vec![5], vec![2, 3], vec![1, 2, 2, 1]] {
        let n = shape.iter().product::<usize>();
        let data: Vec<f32> = (0..n).map(|i| i as f32 * 0.5 - 1.0).collect();
        let a = ArrayD::from_shape_vec(IxDyn(&shape), data).unwrap();
        write_array(&p, &a).unwrap();
        let raw = std::fs::read(&p).unwrap();
        assert_eq!((raw.len() - 4 * n) % 64, 0, "header aligned to 64 bytes");
        assert_eq!(read_f64(&p).unwrap(), a.mapv(f64::from));
    }
}

#[test]
fn reads_every_supported_element_type_as_float64() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.npy");
    let cases: [(&str, Vec<u8>); 4] = [
        (
            "<f8",
            [2.5f64, -7.0, 0.0]
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect(),
        ),
        (
            "<f4",
            [2.5f32, -7.0, 0.0]
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect(),
        ),
        (
            "<i8",
            [2i64, -7, 0].iter().flat_map(|v| v.to_le_bytes()).collect(),
        ),
        (
            "<i4",
            [2i32, -7, 0].iter().flat_map(|v| v.to_le_bytes()).collect(),
        ),
    ];
    for (descr, data) in cases {
        std::fs::write(&p, npy_bytes(descr, "(3,)", &data)).unwrap();
        let a = read_f64(&p).unwrap();
        let want = if descr.starts_with("<i") {
            [2.0, -7.0, 0.0]
        } else {
            [2.5, -7.0, 0.0]
        };
        assert_eq!(a.as_slice().unwrap(), want, "{descr}");
    }
}

#[test]
fn hostile_or_unsupported_files_get_an_error_naming_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.npy");
    let nested = format!(
        "{{'descr': '<f8', 'fortran_order': False, 'shape': {}2{}, }}",
        "(".repeat(3000),
        ",)".repeat(3000)
    );
    let mut deep = b"\x93NUMPY\x01\x00".to_vec();
    deep.extend((nested.len() as u16 + 1).to_le_bytes());
    deep.extend(nested.as_bytes());
    deep.push(b'\n');
    let fortran = {
        let mut b = encode_header("<f8", "(2, 2)");
        let at = b.windows(5).position(|w| w == b"False").unwrap();
        b.splice(at..at + 5, *b"True ");
        b.extend([0u8; 32]);
        b
    };
    let mut v2 = b"\x93NUMPY\x02\x00".to_vec();
    v2.extend(u32::MAX.to_le_bytes());
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"hello".to_vec(), "missing the \\x93NUMPY magic"),
        // One value short, one value over: the data length must match the shape exactly.
        (
            npy_bytes("<f8", "(2, 2)", &[0; 24]),
            "needs 8 more data bytes than the file holds",
        ),
        (
            npy_bytes("<f8", "(2, 2)", &[0; 40]),
            "holds 8 bytes more than the header's shape needs",
        ),
        // An element count that overflows is an error, not a wrapped (small) count.
        (
            npy_bytes("<f8", "(4294967296, 4294967296, 4)", &[]),
            "more elements than can be addressed",
        ),
        (npy_bytes("<f8", "(2, x)", &[]), "malformed header"),
        (
            npy_bytes("|u1", "(3,)", &[1, 2, 3]),
            "int32/int64 ('<i4', '<i8') arrays are supported",
        ),
        (npy_bytes(">f8", "(1,)", &[0; 8]), "big-endian"),
        (fortran, "Fortran-order arrays are not supported"),
        // ndarray-npy's recursive header parser would overflow the stack on this one.
        (deep, "nests brackets more than 8 deep"),
        // A header length beyond the cap (format 2.0 has a 32-bit length) is refused, not allocated.
        (v2, "more than the 65536 accepted"),
    ];
    for (bytes, want) in cases {
        std::fs::write(&p, bytes).unwrap();
        let e = read_f64(&p).unwrap_err();
        assert!(e.message().contains(want), "{e} lacks {want}");
    }
    // Not a regular file: refused without reading.
    let e = read_f64(Path::new("/dev/zero")).unwrap_err();
    assert!(e.message().contains("character device"), "{e}");
    // Limits: the file's size before reading, the values as float64 after the header.
    std::fs::write(&p, npy_bytes("<f4", "(64,)", &[0; 256])).unwrap();
    let e = read(&p, "x", 100).unwrap_err();
    assert!(
        e.message()
            .contains("holds 384 bytes, more than the 100 bytes allowed"),
        "{e}"
    );
    let e = read(&p, "x", 400).unwrap_err();
    assert!(
        e.message()
            .contains("64 values, more than the 400 bytes allowed as float64"),
        "{e}"
    );
    assert_eq!(read(&p, "x", 512).unwrap().len(), 64);
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
    let a = ArrayD::from_shape_vec(IxDyn(&[2]), vec![1.0f32, 2.0]).unwrap();
    write_array(&p, &a).unwrap();
    assert_eq!(read_f64(&p).unwrap().as_slice().unwrap(), [1.0, 2.0]);
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["out.npy"]);
    // A directory that does not exist is an error naming the path.
    let missing = dir.path().join("nope/out.npy");
    let e = write_array(&missing, &a).unwrap_err();
    assert!(e.message().contains("nope/out.npy"), "{e}");
}
