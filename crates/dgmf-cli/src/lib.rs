//! What the `dgmf` command-line tool needs beyond the engine: NumPy `.npy` files for query inputs and
//! outputs, pictures of the fields, and the statistics of `dgmf calibrate`. A library target so that its
//! tests and the fuzz target can reach them.

pub mod coverage;
pub mod npy;
pub mod picture;
