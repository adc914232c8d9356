//! `dgmf_moments*`: ensemble statistics that merge across calls, threads and processes (MPI).

use super::model::get;
use super::predict::{check_len, copy_out, fidelity_value, request, with_progress};
use super::{
    c_slice, c_slice_mut, dgmf_config, dgmf_model, dgmf_status, free, guard, invalid, non_null,
    non_null_mut, publish, CResult, Failure,
};
use dgmf::predict::FidelityValue;
use dgmf::EnsembleMoments;

/// Sufficient statistics of an ensemble for n queries: per query the sample count, and per output value
/// the mean and the sum of squared deviations M2, in double precision. Parts computed anywhere (other
/// sample ranges, threads, MPI ranks) merge exactly (Chan–Golub–LeVeque); `dgmf_moments_finish` turns
/// the merged statistics into the mean and std fields `dgmf_predict_batch` would give. Not thread-safe:
/// one thread at a time per object.
pub struct dgmf_moments {
    inner: EnsembleMoments,
}

fn store(
    out: *mut *mut dgmf_moments,
    body: impl FnOnce() -> CResult<EnsembleMoments>,
) -> dgmf_status {
    guard(|| {
        let out = non_null_mut(out, "out")?;
        *out = std::ptr::null_mut();
        *out = publish(dgmf_moments { inner: body()? });
        Ok(())
    })
}

fn stats_of<'a>(m: *const dgmf_moments, name: &str) -> CResult<&'a EnsembleMoments> {
    Ok(&non_null(m, name)?.inner)
}

/// Predicts samples `first_sample .. first_sample + count − 1` of an ensemble of S samples per query, S
/// being the config's sample count (dgmf_config_set_samples), and returns their statistics in a new
/// `*out` (free with dgmf_moments_destroy; NULL on failure). Queries as in `dgmf_predict_batch`. Sample
/// j of query i draws its noise from stream (seed, i·S + j) whatever the split. With max_batch 1 every
/// sample equals the serial run's bit for bit (ONNX Runtime rounds a row with the number of rows in its
/// call) and the merged parts of 0..S equal one dgmf_predict_batch within the merge's rounding, one float
/// ulp; with batches within ~1e-5 relative (docs/distributed.md). Needs 1 ≤ count and first_sample + count ≤ S.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub extern "C" fn dgmf_predict_moments(
    model: *const dgmf_model,
    config: *const dgmf_config,
    n: usize,
    params: *const f64,
    fidelity: *const f64,
    coords: *const f64,
    first_sample: usize,
    count: usize,
    out: *mut *mut dgmf_moments,
) -> dgmf_status {
    store(out, || {
        let m = &get(model)?.model;
        let cfg = non_null(config, "config")?;
        let req = request(m, cfg, n, params, fidelity, coords)?;
        let end = first_sample.checked_add(count).ok_or_else(|| {
            invalid(format!(
                "first_sample {first_sample} + count {count} overflows"
            ))
        })?;
        with_progress(cfg, |progress| {
            m.predict_moments(&req, first_sample..end, progress)
        })
    })
}

/// New empty statistics (every count 0) for `n_queries` queries of this model's samples: the identity
/// of dgmf_moments_merge, e.g. the start of a reduction. Free with dgmf_moments_destroy.
#[no_mangle]
pub extern "C" fn dgmf_moments_create(
    model: *const dgmf_model,
    n_queries: usize,
    out: *mut *mut dgmf_moments,
) -> dgmf_status {
    store(out, || {
        let m = &get(model)?.model;
        Ok(EnsembleMoments::new(n_queries, &m.contract().shape)?)
    })
}

/// Folds `other` (other samples of the same queries) into `into`. Merging in a fixed order gives the same
/// bits every run. `into` and `other` may be the same object (the ensemble then counts twice).
#[no_mangle]
pub extern "C" fn dgmf_moments_merge(
    into: *mut dgmf_moments,
    other: *const dgmf_moments,
) -> dgmf_status {
    guard(|| {
        let copy;
        let other = if std::ptr::eq(into, other) {
            // A `&mut` and a `&` to one object must not coexist: merge a copy.
            copy = stats_of(other, "other")?.clone();
            &copy
        } else {
            stats_of(other, "other")?
        };
        non_null_mut(into, "into")?.inner.merge(other)?;
        Ok(())
    })
}

/// Number of queries the statistics hold.
#[no_mangle]
pub extern "C" fn dgmf_moments_num_queries(
    moments: *const dgmf_moments,
    n_queries: *mut usize,
) -> dgmf_status {
    guard(|| {
        *non_null_mut(n_queries, "n_queries")? = stats_of(moments, "moments")?.queries();
        Ok(())
    })
}

/// Samples merged so far into query `query` (0-based).
#[no_mangle]
pub extern "C" fn dgmf_moments_count(
    moments: *const dgmf_moments,
    query: usize,
    count: *mut u64,
) -> dgmf_status {
    guard(|| {
        let m = stats_of(moments, "moments")?;
        let c = m.counts().get(query).ok_or_else(|| {
            invalid(format!(
                "query {query} is out of range: the moments hold {} queries",
                m.queries()
            ))
        })?;
        *non_null_mut(count, "count")? = *c;
        Ok(())
    })
}

/// The mean (and, if `std` is not NULL, the std) fields of merged statistics, laid out and scaled as
/// `dgmf_predict_batch` writes them: `fidelity` holds the n queries' fidelities (the calibration's std
/// scale can depend on the level), `mean`/`std` receive n × sample_len floats. Every query needs ≥ 1
/// sample, ≥ 2 for the std.
#[no_mangle]
pub extern "C" fn dgmf_moments_finish(
    model: *const dgmf_model,
    moments: *const dgmf_moments,
    fidelity: *const f64,
    mean: *mut f32,
    mean_len: usize,
    std: *mut f32,
    std_len: usize,
) -> dgmf_status {
    guard(|| {
        let m = &get(model)?.model;
        let stats = stats_of(moments, "moments")?;
        let n = stats.queries();
        let fid = c_slice(fidelity, n, "fidelity")?
            .iter()
            .enumerate()
            .map(|(i, &v)| fidelity_value(m, v, i))
            .collect::<CResult<Vec<FidelityValue>>>()?;
        // `new` bounded n × sample_len when the statistics were made.
        let need = n * m.contract().sample_len();
        check_len("mean", mean_len, need)?;
        if !std.is_null() {
            check_len("std", std_len, need)?;
            if let Some(q) = stats.counts().iter().position(|&c| c < 2) {
                return Err(invalid(format!(
                    "query {q} has {} sample(s); a std field needs at least 2 (pass std = NULL for \
                     the mean alone)",
                    stats.counts()[q]
                )));
            }
        }
        let (mu, sd) = m.finish_moments_at(stats, &fid)?;
        copy_out(&mut c_slice_mut(mean, mean_len, "mean")?[..need], &mu)?;
        if let Some(sd) = sd.filter(|_| !std.is_null()) {
            copy_out(&mut c_slice_mut(std, std_len, "std")?[..need], &sd)?;
        }
        Ok(())
    })
}

/// Doubles of the packed layout for `n_queries` queries of this model: n_queries × (1 + 2·sample_len).
#[no_mangle]
pub extern "C" fn dgmf_moments_packed_len(
    model: *const dgmf_model,
    n_queries: usize,
    len: *mut usize,
) -> dgmf_status {
    guard(|| {
        let n = get(model)?.model.contract().sample_len();
        *non_null_mut(len, "len")? = EnsembleMoments::packed_len(n_queries, n)
            .ok_or_else(|| invalid(format!("{n_queries} queries overflow the packed length")))?;
        Ok(())
    })
}

/// Writes the statistics to `buf` (`len` ≥ dgmf_moments_packed_len doubles) as one record per query,
/// `[count, mean[sample_len], M2[sample_len]]`, for sending in one message. With MPI: a contiguous
/// datatype of one record and a user op that calls dgmf_moments_merge_packed (docs/distributed.md).
#[no_mangle]
pub extern "C" fn dgmf_moments_pack(
    moments: *const dgmf_moments,
    buf: *mut f64,
    len: usize,
) -> dgmf_status {
    guard(|| {
        // A short buffer (even an empty NULL one) is BUFFER_TOO_SMALL with the length needed.
        Ok(stats_of(moments, "moments")?.pack(c_slice_mut(buf, len, "buf")?)?)
    })
}

/// New statistics (free with dgmf_moments_destroy) of `n_queries` queries of this model from `len`
/// doubles of the packed layout (exactly dgmf_moments_packed_len). Counts must be whole numbers, means
/// finite, M2 ≥ 0.
#[no_mangle]
pub extern "C" fn dgmf_moments_unpack(
    model: *const dgmf_model,
    n_queries: usize,
    buf: *const f64,
    len: usize,
    out: *mut *mut dgmf_moments,
) -> dgmf_status {
    store(out, || {
        let m = &get(model)?.model;
        let shape = &m.contract().shape;
        let need = EnsembleMoments::packed_len(n_queries, m.contract().sample_len());
        if need != Some(len) {
            return Err(invalid(format!(
                "packed moments of {n_queries} queries of this model are {} doubles; `len` is {len}",
                need.map_or_else(|| "too many".to_string(), |l| l.to_string())
            )));
        }
        Ok(EnsembleMoments::unpack(
            shape,
            n_queries,
            c_slice(buf, len, "buf")?,
        )?)
    })
}

/// Merges packed records in place: `inout` ← inout ⊕ in, both `n_queries` records of `sample_len`
/// values (the same arithmetic as dgmf_moments_merge, so a reduction over packed buffers equals merging
/// objects in the same order, bit for bit). Needs no model: it is what an MPI_User_function calls, with
/// `n_queries` = its `*len` when the datatype is one record. `in` and `inout` must not overlap.
/// Thread-safe.
#[no_mangle]
pub extern "C" fn dgmf_moments_merge_packed(
    in_: *const f64,
    inout: *mut f64,
    n_queries: usize,
    sample_len: usize,
) -> dgmf_status {
    guard(|| {
        let len = EnsembleMoments::packed_len(n_queries, sample_len).ok_or_else(|| {
            invalid(format!(
                "{n_queries} queries of {sample_len} values overflow the packed length"
            ))
        })?;
        let input = c_slice(in_, len, "in")?;
        let bytes = std::mem::size_of_val(input);
        let (a, b) = (in_ as usize, inout as usize);
        if len > 0 && a < b.saturating_add(bytes) && b < a.saturating_add(bytes) {
            return Err(invalid(
                "`in` and `inout` overlap; give two separate buffers",
            ));
        }
        let inout = c_slice_mut(inout, len, "inout")?;
        EnsembleMoments::merge_packed(input, inout, n_queries, sample_len).map_err(Failure::from)
    })
}

/// Frees statistics; NULL is a no-op.
#[no_mangle]
pub extern "C" fn dgmf_moments_destroy(moments: *mut dgmf_moments) {
    free(moments)
}
