//! The simulated Unify Desk Phone CP: the `cpe-agent` daemon's pieces, as a library so they
//! can be tested (and fuzzed, for the parsers of untrusted input) on their own.
//!
//! * [`config`]: the TOML configuration file; [`state`]: the state directory (lock, atomic
//!   files, the engine's persisted state); [`phone`]: the local admin and DHCP operations on
//!   the store; [`control`]: the control socket; [`daemon`]: the boot loop, signals and the
//!   engine's `Device`; [`trace`]: per-session JSON-lines traces; [`netinfo`]: the host's
//!   addresses; [`identity`]: the default device certificate; [`tr064`]: LAN-side
//!   management (TR-064: SSDP, descriptions, SOAP actions, authentication, transactions);
//!   [`provision`]: auto provisioning without an ACS (DHCP option, SIP PnP, static server;
//!   TFTP, FTP, HTTP(S); the text and XML configuration files).
//! * [`fleet`]: `cpe-agent fleet`, many simulated phones in one process (load-testing an ACS).
//! * [`web`]: the web-based management (login, Status, Configuration, Actions, Sessions).
//! * [`check`]: `cpe-agent check`, what fails between the phone and its ACS, in words.
//! * [`demo`]: `cpe-agent demo`, the phone and the project's fake ACS in one command.
//! * [`dhcp`], [`items`], [`firmware`], [`vendor_config`]: parsers of untrusted input.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod check;
pub mod cloud;
pub mod config;
pub mod control;
pub mod daemon;
pub mod demo;
pub mod dhcp;
pub mod firmware;
pub mod fleet;
pub mod fuzzing;
pub mod identity;
pub mod items;
pub mod netinfo;
pub mod phone;
pub mod provision;
pub mod session_log;
pub mod state;
pub mod tr064;
pub mod trace;
pub mod transfer;
pub mod vendor_config;
pub mod web;
