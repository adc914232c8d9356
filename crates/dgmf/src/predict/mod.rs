//! Predictions: queries × samples packed into network batches, integrated by a sampler, reduced to a
//! mean and a standard deviation per query in physical units.
//!
//! `request` holds what is asked and returned, `validate` checks a request before anything runs, `run`
//! packs rows into batches and drives the sampler, `buffers` owns a batch's network inputs and the call,
//! `moments` the mergeable ensemble statistics.

mod buffers;
mod moments;
mod request;
mod run;
mod validate;

pub use buffers::first_non_finite;
pub use moments::EnsembleMoments;
pub use request::*;
pub use validate::{check_query_count, query_bytes};
