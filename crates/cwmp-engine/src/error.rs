//! The engine's error type for the embedder (design invariant 8). CWMP faults are values sent
//! to the ACS and never appear here; network input never produces an error either (it fails
//! the session instead).

use std::fmt;

/// Why the engine refused something the embedder handed it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The restored [`crate::PersistentState`] was written by a newer format version.
    UnsupportedStateVersion {
        /// The version found.
        found: u32,
        /// The newest version this crate reads.
        supported: u32,
    },
    /// The restored state is inconsistent or exceeds the engine's bounds.
    InvalidState(String),
    /// The configuration is unusable.
    InvalidConfig(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::UnsupportedStateVersion { found, supported } => write!(
                f,
                "persistent state version {found} is newer than the supported version {supported}"
            ),
            Error::InvalidState(m) => write!(f, "invalid persistent state: {m}"),
            Error::InvalidConfig(m) => write!(f, "invalid agent configuration: {m}"),
        }
    }
}

impl std::error::Error for Error {}
