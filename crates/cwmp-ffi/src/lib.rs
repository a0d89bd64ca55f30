//! The C API of the CWMP (TR-069) agent, for C and C++ phone firmware
//! (header `include/cwmp_agent.h`, generated from this crate by cbindgen).
//!
//! The embedder gives the device's parameter table as TOML text (the table format of
//! `deskphone-datamodel`, loaded by its one loader) and callbacks over its own configuration
//! system; the library keeps every CWMP rule (validation, ordering, masking, attributes):
//!
//! * [`cwmp_store_callbacks`]: read one value, commit a batch of values all-or-nothing (the
//!   device may refuse items with per-item faults). The store is a `SchemaStore` over an
//!   `ItemBackend` that calls these.
//! * Blocking ([`cwmp_agent`]): [`cwmp_agent_run`] runs `cwmp_client::Client` on a thread
//!   the embedder gives it; [`cwmp_agent_value_changed`], [`cwmp_agent_stop`] … are
//!   thread-safe. [`cwmp_device_callbacks`] persist and load the engine state, download,
//!   reboot, factory reset.
//! * Step-wise ([`cwmp_engine`]): the sans-IO `cwmp_engine::Agent` for firmware with its own
//!   event loop: feed inputs with the current time, drain [`cwmp_output`]s, sleep until
//!   [`cwmp_engine_next_deadline`].
//!
//! Conventions: opaque handles, `int` status codes ([`CWMP_OK`], `CWMP_ERR_*`) with
//! `*_last_error` copying the handle's last error text into a caller buffer, UTF-8
//! NUL-terminated strings, no global state, and no panic crosses the boundary (every entry
//! point runs under `catch_unwind` and returns [`CWMP_ERR_PANIC`]).
//!
//! `unsafe` is allowed in this crate only (the workspace forbids it elsewhere); every block
//! says why it is sound.
#![allow(non_camel_case_types)]

mod agent;
mod step;
mod store;
mod util;

pub use agent::*;
pub use step::*;
pub use store::*;

use std::ffi::c_int;

/// Success.
pub const CWMP_OK: c_int = 0;
/// `cwmp_agent_run` returned because the ACS asked for a reboot (the reboot callback ran).
pub const CWMP_EXIT_REBOOT: c_int = 1;
/// `cwmp_agent_run` returned because the ACS asked for a factory reset (the parameter store
/// is reset; the factory_reset callback ran).
pub const CWMP_EXIT_FACTORY_RESET: c_int = 2;
/// A NULL pointer where one is required, a string that is not UTF-8, a bad address.
pub const CWMP_ERR_INVALID_ARGUMENT: c_int = -1;
/// The parameter table or the configuration is invalid (the last error names the row).
pub const CWMP_ERR_CONFIG: c_int = -2;
/// The persisted engine state could not be read (corrupt, or written by a newer version).
pub const CWMP_ERR_STATE: c_int = -3;
/// The handle is in use: `cwmp_agent_run` is already running on another thread.
pub const CWMP_ERR_BUSY: c_int = -4;
/// The agent has finished (it returned from `cwmp_agent_run` for a reboot or a factory
/// reset): free it and create a new one.
pub const CWMP_ERR_FINISHED: c_int = -5;
/// A network or operating-system error (the last error says which).
pub const CWMP_ERR_IO: c_int = -6;
/// An internal error (a bug): a panic was caught at the boundary.
pub const CWMP_ERR_PANIC: c_int = -99;

/// Store callback result: the key has a value.
pub const CWMP_FOUND: c_int = 1;
/// Store callback result: the key has no stored value (the table's default applies).
pub const CWMP_NOT_FOUND: c_int = 0;
/// Commit callback result: the device refused items, named with `cwmp_refuse`; nothing of
/// the batch was applied.
pub const CWMP_REFUSED: c_int = 1;

/// Boot reason: the device powered up or rebooted (also after a Reboot or FactoryReset).
pub const CWMP_BOOT_POWER_ON: c_int = 0;
/// Boot reason: the device was reset to factory defaults by local means (a menu, a button).
pub const CWMP_BOOT_FACTORY_RESET: c_int = 1;
/// Boot reason: only the agent restarted, the device did not (no `1 BOOT`).
pub const CWMP_BOOT_AGENT_RESTART: c_int = 2;
