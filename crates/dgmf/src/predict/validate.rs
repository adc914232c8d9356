//! Checking a request before anything is allocated or run: settings, sizes against the memory limit and
//! the machine, every query against the model's contract.

use crate::contract::{Contract, Fidelity};
use crate::error::{Error, Result};
use crate::rng::NoiseStream;

use super::{FidelityValue, Request};

/// Bytes the buffers of `req` will take (network batch buffers, sampler workspace, statistics, outputs),
/// or `None` on overflow.
pub(super) fn buffer_bytes(c: &Contract, req: &Request) -> Option<usize> {
    let n = c.sample_len();
    let rows = req.queries.len().checked_mul(req.n_samples)?;
    let batch = req.max_batch.min(rows);
    let cond = c
        .params
        .len()
        .checked_add(c.fidelity.width())?
        .checked_add(c.coords.len())?
        .checked_add(1)?;
    // x, raw output, 4 workspace buffers, f16 copies (counted as one more f32 buffer), and the I/O-bound
    // state and output of two batch sizes (buffers.rs) per batch row.
    let per_row = n
        .checked_mul(11)?
        .checked_add(cond)?
        .checked_mul(4)?
        .checked_add(std::mem::size_of::<NoiseStream>())?;
    let batch_bytes = batch.checked_mul(per_row)?;
    let stats = req.queries.len().checked_mul(query_bytes(c))?;
    let samples = if req.keep_samples {
        rows.checked_mul(n)?.checked_mul(4)?
    } else {
        0
    };
    // The noise schedule (f32 levels) and the per-query sample counts.
    let schedule = req.sampler.steps.checked_mul(4)?;
    let counts = req
        .queries
        .len()
        .checked_mul(std::mem::size_of::<usize>())?;
    batch_bytes
        .checked_add(stats)?
        .checked_add(samples)?
        .checked_add(schedule)?
        .checked_add(counts)
}

/// Bytes each query of a request takes with its results, whatever the sampler: per output value the f64
/// mean and M2 of the statistics and the f32 mean and std returned, plus the query itself with its
/// parameters and coordinates (saturating: a contract bounds sample_len to 2^31 − 1). The one per-query
/// bound: the engine's buffer check, the C API before it copies queries, the CLI as it reads query files.
pub fn query_bytes(c: &Contract) -> usize {
    c.sample_len()
        .saturating_mul(8 + 8 + 4 + 4)
        .saturating_add(std::mem::size_of::<super::Query>())
        .saturating_add(8 * (c.params.len() + c.coords.len()))
}

/// Refuses `n` queries before they are built: none at all, or more than `memory_limit` bytes hold with
/// their results ([`query_bytes`]). On success `n × sample_len` does not overflow.
pub fn check_query_count(c: &Contract, n: usize, memory_limit: usize) -> Result<()> {
    if n == 0 {
        return Err(Error::invalid("n = 0: nothing to predict"));
    }
    if n.checked_mul(query_bytes(c))
        .map_or(true, |b| b > memory_limit)
    {
        return Err(Error::invalid(format!(
            "n = {n} queries would take more than the memory limit of {} with their results: predict them in \
             smaller batches, or raise the limit (dgmf_config_set_memory_limit, --memory-limit, \
             Request::memory_limit)",
            size_text(memory_limit)
        )));
    }
    Ok(())
}

impl Request {
    /// A std over the ensemble needs 2 or more samples; what every door asking for one checks first.
    pub fn check_std_samples(n_samples: usize) -> Result<()> {
        if n_samples < 2 {
            return Err(Error::invalid(format!(
                "a std needs 2 or more samples per query, got {n_samples}: one sample has no spread \
                 (dgmf_config_set_samples, --samples, Request::n_samples)"
            )));
        }
        Ok(())
    }
}

/// Bytes of physical memory, if the system says.
pub(super) fn physical_memory() -> Option<usize> {
    // SAFETY: sysconf has no preconditions.
    let (pages, size) = unsafe {
        (
            libc::sysconf(libc::_SC_PHYS_PAGES),
            libc::sysconf(libc::_SC_PAGESIZE),
        )
    };
    (pages > 0 && size > 0).then(|| (pages as usize).saturating_mul(size as usize))
}

impl Request {
    /// Checks the settings alone — sampler, ensemble, batch, time limit — without queries or a model: what
    /// the C API's setters and `validate` share, so each rule lives here once.
    pub fn validate_settings(&self) -> Result<()> {
        validate_settings(self)
    }
}

pub(super) fn validate_settings(req: &Request) -> Result<()> {
    if req.n_samples == 0 {
        return Err(Error::invalid(
            "n_samples = 0; ask for at least one sample per query",
        ));
    }
    if req.max_batch == 0 {
        return Err(Error::invalid(
            "max_batch = 0; a network call needs at least one row",
        ));
    }
    req.sampler.validate()?;
    if req.time_limit.is_some_and(|t| t.is_zero()) {
        return Err(Error::invalid(
            "time_limit = 0; give a positive limit, or None for no limit",
        ));
    }
    Ok(())
}

/// A fidelity of the model's kind and, for a discrete model, one of its levels (`at` prefixes the message,
/// e.g. "query 3: "). The range of a continuous value is `validate`'s, as it depends on extrapolation.
pub(super) fn check_fidelity_kind(c: &Contract, f: FidelityValue, at: &str) -> Result<()> {
    match (&c.fidelity, f) {
        (Fidelity::Discrete { levels, labels }, FidelityValue::Level(l)) if l >= *levels => {
            let names = labels.as_ref().map(|l| format!(": {}", l.join(", "))).unwrap_or_default();
            Err(Error::invalid(format!(
                "{at}fidelity level {l} is out of range: the model has {levels} levels (0..={}{names})",
                levels - 1
            )))
        }
        (Fidelity::Discrete { levels, .. }, FidelityValue::Value(v)) => Err(Error::invalid(format!(
            "{at}fidelity {v} is a continuous value, but the model has {levels} discrete levels: give a level index"
        ))),
        (Fidelity::Continuous { lo, hi }, FidelityValue::Level(l)) => Err(Error::invalid(format!(
            "{at}fidelity level {l} given, but the model takes a continuous fidelity value in [{lo}, {hi}]"
        ))),
        _ => Ok(()),
    }
}

pub(super) fn validate(c: &Contract, req: &Request) -> Result<()> {
    if req.queries.is_empty() {
        return Err(Error::invalid("the request has no queries"));
    }
    validate_settings(req)?;
    check_sizes(c, req)?;
    for (i, q) in req.queries.iter().enumerate() {
        let at = if req.queries.len() > 1 {
            format!("query {i}: ")
        } else {
            String::new()
        };
        check_query(c, req, q, &at)?;
    }
    // Noise streams are numbered (seed, (first_query + i)·n_samples + j) in 64 bits.
    (req.queries.len() as u64)
        .checked_add(req.first_query)
        .and_then(|q| q.checked_mul(req.n_samples as u64))
        .ok_or_else(|| {
            Error::invalid(format!(
                "first_query {} + {} queries, × {} samples, overflows the 64-bit stream index",
                req.first_query,
                req.queries.len(),
                req.n_samples
            ))
        })?;
    Ok(())
}

/// A byte count in the unit that shows it (a limit of 0 or 100 bytes printed as "0.00 GiB" says nothing).
pub(super) fn size_text(b: usize) -> String {
    const UNITS: [(&str, u32); 3] = [("GiB", 30), ("MiB", 20), ("KiB", 10)];
    for (unit, shift) in UNITS {
        if b >= 1 << shift {
            let v = b as f64 / (1u64 << shift) as f64;
            return format!("{v:.2} {unit}");
        }
    }
    format!("{b} bytes")
}

/// The request's buffers fit the memory limit and the machine.
fn check_sizes(c: &Contract, req: &Request) -> Result<()> {
    match buffer_bytes(c, req) {
        Some(b) if b <= req.memory_limit => {}
        need => {
            return Err(Error::invalid(format!(
                "the request ({} queries × {} samples{}, batches of {} rows, {} values per sample) needs {} of \
                 buffers, above the memory limit of {}: lower the sample count or max_batch, or raise \
                 the limit (Request::memory_limit, dgmf_config_set_memory_limit, --memory-limit)",
                req.queries.len(),
                req.n_samples,
                if req.keep_samples { ", all samples kept" } else { "" },
                req.max_batch,
                c.sample_len(),
                need.map_or("more bytes than the address space".into(), size_text),
                size_text(req.memory_limit)
            )))
        }
    }
    // With overcommit, an allocation far above the machine's memory may "succeed" and the process is
    // killed when it touches it: refuse what cannot fit in physical memory before allocating.
    if let (Some(need), Some(phys)) = (buffer_bytes(c, req), physical_memory()) {
        if need > phys {
            return Err(Error::invalid(format!(
                "the request needs {} of buffers but this machine has {} of memory: lower the \
                 sample count or max_batch, or predict fewer queries per call",
                size_text(need),
                size_text(phys)
            )));
        }
    }
    Ok(())
}

/// One input value: finite, within float32, and (unless extrapolating) within the model's range.
fn check_value(req: &Request, what: String, v: f64, min: f64, max: f64) -> Result<()> {
    if !v.is_finite() {
        return Err(Error::invalid(format!(
            "{what} = {v} is not a finite number"
        )));
    }
    // The network takes float32: even when extrapolating, a value must survive the conversion.
    if v.abs() > f32::MAX as f64 {
        return Err(Error::invalid(format!(
            "{what} = {v} is beyond the float32 range (±3.4e38) the network takes"
        )));
    }
    if !req.allow_extrapolation && !(min..=max).contains(&v) {
        return Err(Error::invalid(format!(
            "{what} = {v} is outside the model's range [{min}, {max}]; allow extrapolation (CLI \
             --extrapolate, C dgmf_config_set_extrapolation) to predict outside the training range anyway"
        )));
    }
    Ok(())
}

/// One query against the contract; `at` names it in messages ("query 3: ", or nothing for one query).
fn check_query(c: &Contract, req: &Request, q: &super::Query, at: &str) -> Result<()> {
    if q.params.len() != c.params.len() {
        let names: Vec<&str> = c.params.iter().map(|p| p.name.as_str()).collect();
        return Err(Error::invalid(format!(
            "{at}{} parameters given, but the model takes {} ({})",
            q.params.len(),
            c.params.len(),
            names.join(", ")
        )));
    }
    for (v, p) in q.params.iter().zip(&c.params) {
        check_value(req, format!("{at}parameter `{}`", p.name), *v, p.min, p.max)?;
    }
    check_fidelity_kind(c, q.fidelity, at)?;
    if let (Fidelity::Continuous { lo, hi }, FidelityValue::Value(v)) = (&c.fidelity, q.fidelity) {
        check_value(req, format!("{at}fidelity"), v, *lo, *hi)?;
    }
    if q.coords.len() != c.coords.len() {
        return Err(Error::invalid(format!(
            "{at}{} coordinates given, but the model takes {}",
            q.coords.len(),
            c.coords.len()
        )));
    }
    for (v, k) in q.coords.iter().zip(&c.coords) {
        check_value(
            req,
            format!("{at}coordinate `{}`", k.name),
            *v,
            k.min,
            k.max,
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::size_text;

    #[test]
    fn sizes_are_printed_in_the_unit_that_shows_them() {
        assert_eq!(size_text(0), "0 bytes");
        assert_eq!(size_text(1023), "1023 bytes");
        assert_eq!(size_text(1536), "1.50 KiB");
        assert_eq!(size_text(5 << 20), "5.00 MiB");
        assert_eq!(size_text(4 << 30), "4.00 GiB");
    }
}
