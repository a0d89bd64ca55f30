//! Placeholder: filled by the connection-request work.
