use super::*;

/// Two-pass mean and M2 of columns of `rows`, in f64.
fn two_pass(rows: &[Vec<f32>]) -> (Vec<f64>, Vec<f64>) {
    let n = rows[0].len();
    let k = rows.len() as f64;
    let mean: Vec<f64> = (0..n)
        .map(|i| rows.iter().map(|r| r[i] as f64).sum::<f64>() / k)
        .collect();
    let m2 = (0..n)
        .map(|i| rows.iter().map(|r| (r[i] as f64 - mean[i]).powi(2)).sum())
        .collect();
    (mean, m2)
}

#[test]
fn welford_and_pairwise_merges_agree_with_two_pass() {
    // Values with a large common offset: the case where naive sums of squares lose everything.
    let rows: Vec<Vec<f32>> = (0..37)
        .map(|j| {
            (0..5)
                .map(|i| 1.0e4 + ((j * 7 + i * 3) % 11) as f32 * 0.25)
                .collect()
        })
        .collect();
    let (mean, m2) = two_pass(&rows);
    for cut in [1, 5, 18, 36] {
        let mut a = EnsembleMoments::new(1, &[5]).unwrap();
        let mut b = EnsembleMoments::new(1, &[5]).unwrap();
        rows[..cut].iter().for_each(|r| a.add(0, r));
        rows[cut..].iter().for_each(|r| b.add(0, r));
        let mut ab = a.clone();
        ab.merge(&b).unwrap();
        b.merge(&a).unwrap();
        for m in [&ab, &b] {
            assert_eq!(m.counts(), &[37]);
            for i in 0..5 {
                assert!(
                    (m.mean()[i] - mean[i]).abs() <= 1e-12 * mean[i].abs(),
                    "cut {cut}"
                );
                assert!(
                    (m.m2()[i] - m2[i]).abs() <= 1e-9 * m2[i],
                    "cut {cut}: {} vs {}",
                    m.m2()[i],
                    m2[i]
                );
            }
        }
    }
}

#[test]
fn merging_an_empty_part_changes_nothing_and_std_needs_two_samples() {
    let mut a = EnsembleMoments::new(2, &[3]).unwrap();
    a.add(0, &[1.0, 2.0, 3.0]);
    a.add(1, &[4.0, 5.0, 6.0]);
    let before = a.clone();
    a.merge(&EnsembleMoments::new(2, &[3]).unwrap()).unwrap();
    assert_eq!(a, before);
    let (mean, std) = a.finish(|_| 1.0).unwrap();
    assert_eq!(mean, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    assert!(std.is_none());
    a.add(0, &[3.0, 2.0, 1.0]);
    a.add(1, &[4.0, 5.0, 8.0]);
    let (_, std) = a.finish(|q| if q == 1 { 2.0 } else { 1.0 }).unwrap();
    let s2 = std::f32::consts::SQRT_2;
    assert_eq!(std.unwrap(), vec![s2, 0.0, s2, 0.0, 0.0, 2.0 * s2]);
}

#[test]
fn packed_records_roundtrip_and_merge_to_the_same_bits_as_objects() {
    let mk = |seed: usize, queries: usize| {
        let mut m = EnsembleMoments::new(queries, &[2, 3]).unwrap();
        for q in 0..queries {
            for j in 0..(seed + q) % 4 {
                let row: Vec<f32> = (0..6)
                    .map(|i| 1.0e3 + ((seed * 31 + j * 7 + i * 5 + q) % 13) as f32 * 0.1)
                    .collect();
                m.add(q, &row);
            }
        }
        m
    };
    let (a, b) = (mk(1, 3), mk(6, 3));
    let len = EnsembleMoments::packed_len(3, 6).unwrap();
    assert_eq!(len, 3 * 13);
    let (mut pa, mut pb) = (vec![0.0; len], vec![0.0; len]);
    a.pack(&mut pa).unwrap();
    b.pack(&mut pb).unwrap();
    assert_eq!(EnsembleMoments::unpack(&[2, 3], 3, &pa).unwrap(), a);
    let mut ab = a.clone();
    ab.merge(&b).unwrap();
    EnsembleMoments::merge_packed(&pb, &mut pa, 3, 6).unwrap();
    let merged = EnsembleMoments::unpack(&[2, 3], 3, &pa).unwrap();
    assert_eq!(merged, ab); // bit for bit: one kernel, same order
    assert!(merged.counts().iter().all(|&c| c > 0));
}

#[test]
fn packed_misuse_is_an_error_naming_the_problem() {
    let m = EnsembleMoments::new(2, &[4]).unwrap();
    let mut short = vec![0.0; 17];
    let e = m.pack(&mut short).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BufferTooSmall);
    assert!(e.message().contains("need 18 doubles"), "{e}");
    let e = EnsembleMoments::unpack(&[4], 2, &short).unwrap_err();
    assert!(e.message().contains("are 18 doubles"), "{e}");
    let mut rec = vec![0.0; 18];
    for bad in [-1.0, 0.5, f64::NAN, f64::INFINITY, 1e300] {
        rec[9] = bad;
        let e = EnsembleMoments::unpack(&[4], 2, &rec).unwrap_err();
        assert!(e.message().contains("count of query 1"), "{e}");
        let mut inout = vec![0.0; 18];
        let e = EnsembleMoments::merge_packed(&rec, &mut inout, 2, 4).unwrap_err();
        assert!(e.message().contains("count of query 1"), "{e}");
    }
    rec[9] = 2.0;
    rec[15] = -1.0; // an M2 below zero (query 1: count 9, mean 10..14, M2 14..18)
    let e = EnsembleMoments::unpack(&[4], 2, &rec).unwrap_err();
    assert!(e.message().contains("M2 of query 1"), "{e}");
    let e = EnsembleMoments::merge_packed(&rec, &mut [0.0; 18], 2, 5).unwrap_err();
    assert!(e.message().contains("got 18"), "{e}");
}

#[test]
fn merge_packed_checks_every_record_of_both_buffers_before_merging() {
    // Two queries of 2 values: records [count, mean0, mean1, m2_0, m2_1].
    let good = [3.0, 1.0, 2.0, 0.5, 0.5];
    for (at, bad, text) in [
        (1, f64::NAN, "mean of query 1"),
        (2, 1e300, "mean of query 1"),
        (3, -1.0, "M2 of query 1"),
        (4, f64::INFINITY, "M2 of query 1"),
        (4, 1e300, "M2 of query 1"),
    ] {
        let mut input = [good, good].concat();
        input[5 + at] = bad;
        for into_inout in [false, true] {
            let (mut a, mut b) = ([good, good].concat(), input.clone());
            let (inp, io) = if into_inout {
                (&a.clone(), &mut b)
            } else {
                (&b.clone(), &mut a)
            };
            let before = io.clone();
            let e = EnsembleMoments::merge_packed(inp, io, 2, 2).unwrap_err();
            assert!(e.message().contains(text), "{bad}: {e}");
            assert!(
                e.message()
                    .contains(if into_inout { "`inout`" } else { "`in`" }),
                "{e}"
            );
            // Query 0 is valid and comes first: nothing of it was merged either.
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(io), bits(&before), "{bad}: inout changed on an error");
        }
        assert!(EnsembleMoments::unpack(&[2], 2, &input).is_err());
    }
}

#[test]
fn a_std_scale_that_overflows_float32_is_an_error() {
    let mut m = EnsembleMoments::new(1, &[2]).unwrap();
    m.add(0, &[1.0, 10.0]);
    m.add(0, &[3.0, 30.0]);
    assert!(m.finish(|_| 1e30).is_ok());
    let e = m.finish(|_| 1e38).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Inference);
    assert!(
        e.message().contains("ensemble std of query 0, value 1"),
        "{e}"
    );
    assert!(e.message().contains("dgmf.std_scale"), "{e}");
}
