//! What the `dgmf` command-line tool needs beyond the engine: NumPy `.npy` files for query inputs and
//! outputs, and pictures of the fields. A library target so that its tests and the fuzz target can reach the reader.

pub mod npy;
pub mod picture;
