//! One error type for the whole engine. Each variant maps to one C status code (see `capi`), and every
//! message names what is wrong and, where there is one, how to fix it.

use std::fmt;

/// The kind of failure, stable across releases (the C ABI exposes it as `dgmf_status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// A request argument is invalid (NaN parameter, level out of range, zero samples, ...).
    InvalidArgument,
    /// A caller-provided output buffer is too small.
    BufferTooSmall,
    /// The model file does not honour the dgmf model contract (missing key, shape mismatch, ...).
    Contract,
    /// The model file could not be read or parsed as ONNX.
    ModelLoad,
    /// The ONNX Runtime shared library could not be found or loaded.
    RuntimeNotFound,
    /// A requested execution provider (CUDA, TensorRT) could not be registered.
    ProviderUnavailable,
    /// The caller cancelled the run through the progress callback.
    Cancelled,
    /// ONNX Runtime reported an error while running the network.
    Inference,
    /// An I/O error outside model loading (writing outputs, reading query files).
    Io,
    /// A bug in libdgmf (a caught panic, a broken invariant).
    Internal,
}

/// An engine error: a kind plus a human-readable message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: String,
}

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
        }
    }
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
    pub fn message(&self) -> &str {
        &self.message
    }
    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::InvalidArgument, message)
    }
    pub(crate) fn contract(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Contract, message)
    }
    pub(crate) fn inference(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Inference, message)
    }
    pub(crate) fn internal(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Internal, message)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;
