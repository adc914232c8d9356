//! Shared by `benches/predict.rs` and `examples/throughput.rs`: the same Poisson queries for both.
use dgmf::{FidelityValue, Query};

/// `n` queries for the shipped Poisson model at its highest fidelity, parameters spread over the interior of
/// the box [0.1, 0.9]^5 (never on its edge, so no rounding pushes one outside the declared range).
pub fn poisson_queries(n: usize) -> Vec<Query> {
    (0..n)
        .map(|i| Query {
            params: (0..5)
                .map(|k| 0.15 + 0.7 * ((i * 5 + k) % 7) as f64 / 6.0)
                .collect(),
            fidelity: FidelityValue::Level(2),
            coords: vec![],
        })
        .collect()
}
