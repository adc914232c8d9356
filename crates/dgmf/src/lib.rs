//! libdgmf: inference engine for diffusion-generative multi-fidelity (DGMF) PDE surrogates.
//!
//! A score model s(z, σ, x, m[, c]) exported to ONNX (contract: docs/model-contract.md) is loaded through
//! ONNX Runtime; a prediction integrates the reverse VE SDE or its probability-flow ODE from noise down to a
//! solution field, and an ensemble of samples gives a mean and a standard deviation.

pub mod contract;
pub mod error;
pub mod input_file;
pub mod onnx_header;
pub mod rng;
pub mod samplers;

pub use error::{Error, ErrorKind, Result};
pub mod model;
pub mod runtime;

pub mod predict;

pub use model::Model;
/// The ndarray version the API speaks (queries from `ArrayView2`, results as `ArrayD`).
pub use ndarray;
pub use predict::{EnsembleMoments, FidelityValue, Prediction, Progress, Query, Request};
pub use runtime::{Provider, SessionOptions};
pub use samplers::{SamplerConfig, SamplerKind};
