//! [`Secret`]: a password or key that never prints.

use serde::{Deserialize, Serialize};
use std::fmt;

/// What [`Secret`]'s `Debug` and `Display` print instead of the value.
pub const REDACTED: &str = "<redacted>";

/// A password or key (design: secrets are never logged or returned). `Debug` and `Display`
/// print [`REDACTED`]; the value is reached only through [`Secret::expose`] (or its alias
/// [`Secret::as_str`]), so every use of the plain text is visible in the code.
///
/// Serde (de)serialises the plain string (transparent): persisting a secret is the caller's
/// decision, printing one never is.
///
/// ```
/// use cwmp_model::Secret;
/// let s = Secret::new("hunter2");
/// assert_eq!(format!("{s:?} {s}"), "<redacted> <redacted>");
/// assert_eq!(s.expose(), "hunter2");
/// ```
#[derive(Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The plain text (do not log it).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The plain text (do not log it); the same as [`Secret::expose`].
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True when the secret is the empty string (no password set).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The plain text, consuming the secret.
    pub fn into_inner(self) -> String {
        self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Secret {
        Secret(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Secret {
        Secret(value.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_and_round_trips_through_serde() {
        let s = Secret::from("pw");
        assert_eq!(
            format!("{s:?}|{s}|{s:#?}"),
            "<redacted>|<redacted>|<redacted>"
        );
        assert_eq!(s.as_str(), "pw");
        assert!(!s.is_empty() && Secret::default().is_empty());
        assert_eq!(s.clone().into_inner(), "pw");
    }
}
