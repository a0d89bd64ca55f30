//! What survives a restart (design invariant 7): the engine says what to persist, the embedder
//! writes it atomically ([`crate::Output::Persist`]) and hands it back to [`crate::Agent::new`].

use crate::event::{EventCode, QueuedEvent};
use cwmp_model::{DateTime, Secret};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The format version written by this crate. [`crate::Agent::new`] refuses a newer one.
pub const STATE_VERSION: u32 = 1;

/// The engine's persistent state.
///
/// Serialize it with any serde format; treat it as opaque (the fields are public so that
/// embedders and tests can inspect it, not to be edited). A factory-new device starts from
/// [`PersistentState::new`].
///
/// Decisions (TR-069 silent):
/// * `RetryCount` is not persisted: after a restart the boot session is a new session and
///   starts at 0 (the periodic schedule and the retry wait restart with it).
/// * `ParameterKey` and parameter attributes live in the store, not here.
/// * Accepted transfers keep their `Password` here: the embedder stores this value as a secret.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PersistentState {
    /// Format version ([`STATE_VERSION`]).
    pub version: u32,
    /// The `ManagementServer.URL` a `0 BOOTSTRAP` was last delivered to; `None` = never
    /// (factory-new or factory reset). A different current URL raises BOOTSTRAP (TR-069 Annex A.3.3.1).
    #[serde(default)]
    pub bootstrap_url: Option<String>,
    /// `0 BOOTSTRAP` raised and not yet delivered.
    #[serde(default)]
    pub bootstrap_pending: bool,
    /// Undelivered persistent events (RT+RB in TR-069 Annex A.3.3.1) with their CommandKeys.
    #[serde(default)]
    pub events: Vec<QueuedEvent>,
    /// Accepted ScheduleInforms that have not fired yet (TR-069 Annex A (ScheduleInform)).
    #[serde(default)]
    pub scheduled_informs: Vec<ScheduledInform>,
    /// Accepted Downloads whose result is not known yet (TR-069 Annex A.3.2.8).
    #[serde(default)]
    pub transfers: Vec<QueuedTransfer>,
    /// Finished transfers whose TransferComplete the ACS has not acknowledged (TR-069 Annex A.3.3.2):
    /// they raise `7 TRANSFER COMPLETE` + `M Download` until then.
    #[serde(default)]
    pub transfer_results: Vec<TransferResult>,
    /// The values of notified parameters (Notification passive or active) as the ACS was last
    /// told them: by the `0 BOOTSTRAP` Inform (every value is new to the ACS then), by an
    /// Inform carrying `4 VALUE CHANGE`, by its own SetParameterValues, or when it turned the
    /// notification on. A local change that leaves a parameter at this value is not a
    /// `4 VALUE CHANGE`, and after a boot every parameter whose value differs from this one
    /// is (TR-069 Annex A.3.3.1: "changed by any means other than the ACS", also while the engine was
    /// not running). Values that read as `""` (secrets, empty values) are not kept: a change
    /// of those is always reported.
    #[serde(default)]
    pub reported_values: std::collections::BTreeMap<String, String>,
}

impl PersistentState {
    /// The state of a factory-new device: nothing delivered, nothing pending (its first
    /// session will carry `0 BOOTSTRAP`).
    pub fn new() -> PersistentState {
        PersistentState {
            version: STATE_VERSION,
            bootstrap_url: None,
            bootstrap_pending: false,
            events: Vec::new(),
            scheduled_informs: Vec::new(),
            transfers: Vec::new(),
            transfer_results: Vec::new(),
            reported_values: std::collections::BTreeMap::new(),
        }
    }

    /// Record the result of a Download that was handed out before a restart (an
    /// `InProgress` transfer), exactly as [`crate::Input::TransferComplete`] would, but before
    /// the [`crate::Agent`] is built from this state: the first Inform after the boot then
    /// carries `7 TRANSFER COMPLETE` and `M Download` together with `1 BOOT` (TR-069 Annex A.3.2.8,
    /// firmware flow), instead of a second session after the boot session.
    ///
    /// Returns `false` and changes nothing when no transfer with that CommandKey is in
    /// progress. Safe across a crash: the state the embedder persists holds either the
    /// transfer or its result, never both, so repeating the call after a restart that lost
    /// the new state records the result once.
    pub fn complete_transfer(
        &mut self,
        command_key: &str,
        fault: Option<&cwmp_model::Fault>,
        start: DateTime,
        complete: DateTime,
    ) -> bool {
        let Some(i) = self
            .transfers
            .iter()
            .position(|t| t.command_key == command_key && t.state == TransferState::InProgress)
        else {
            return false;
        };
        let t = self.transfers.remove(i);
        self.transfer_results.push(TransferResult {
            command_key: t.command_key,
            kind: TransferKind::Download,
            file_type: t.file_type,
            fault_code: fault.map_or(0, |f| f.code.code()),
            fault_string: fault.map(|f| f.message.clone()).unwrap_or_default(),
            start,
            complete,
        });
        true
    }

    /// The events the next Inform would carry because of this state (for inspection).
    pub fn pending_event_codes(&self) -> Vec<String> {
        let mut v = Vec::new();
        if self.bootstrap_pending || self.bootstrap_url.is_none() {
            v.push(EventCode::Bootstrap.as_str().to_owned());
        }
        v.extend(self.events.iter().map(|e| e.code.as_str().to_owned()));
        if !self.transfer_results.is_empty() {
            v.push(EventCode::TransferComplete.as_str().to_owned());
            v.extend(
                self.transfer_results
                    .iter()
                    .map(|r| r.kind.event_code().as_str().to_owned()),
            );
        }
        v
    }
}

impl Default for PersistentState {
    fn default() -> PersistentState {
        PersistentState::new()
    }
}

impl fmt::Debug for PersistentState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PersistentState")
            .field("version", &self.version)
            .field("bootstrap_url", &self.bootstrap_url)
            .field("bootstrap_pending", &self.bootstrap_pending)
            .field("events", &self.events)
            .field("scheduled_informs", &self.scheduled_informs)
            .field("transfers", &self.transfers)
            .field("transfer_results", &self.transfer_results)
            .field("reported_values", &self.reported_values.len())
            .finish()
    }
}

/// An accepted ScheduleInform (TR-069 Annex A (ScheduleInform)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ScheduledInform {
    /// The CommandKey for `M ScheduleInform`.
    pub command_key: String,
    /// When it fires (wall clock), or the Unknown Time when the device had no clock.
    ///
    /// Decision: after a restart a ScheduleInform whose time has passed, or whose time is
    /// unknown, fires at once and rides in the boot session.
    #[serde(with = "xsd_time")]
    pub due: DateTime,
}

/// What kind of transfer a result belongs to: it names the `M …` event (TR-069 Annex A.3.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum TransferKind {
    /// A Download RPC: `M Download`.
    Download,
}

impl TransferKind {
    /// The `M …` event code this kind raises with `7 TRANSFER COMPLETE`.
    pub fn event_code(self) -> EventCode {
        match self {
            TransferKind::Download => EventCode::MDownload,
        }
    }
}

/// Where an accepted transfer stands (GetQueuedTransfers `State`, TR-069 Annex A (GetQueuedTransfers)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum TransferState {
    /// 1: accepted, waiting for the session to end and DelaySeconds to pass; cancellable.
    NotStarted,
    /// 2: handed to the embedder ([`crate::Output::Download`]); no longer cancellable.
    InProgress,
}

/// An accepted Download RPC (TR-069 Annex A.3.2.8). The password is a [`Secret`]: `Debug` redacts it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct QueuedTransfer {
    /// `CommandKey`.
    pub command_key: String,
    /// `FileType`.
    pub file_type: String,
    /// `URL` (http or https).
    pub url: String,
    /// `Username` for the file server.
    pub username: String,
    /// `Password` for the file server. Serialised as the plain string (as before `Secret`), so
    /// state files written by older versions load unchanged.
    pub password: Secret,
    /// `FileSize` (0 = not specified).
    pub file_size: u32,
    /// `TargetFileName`.
    pub target_file_name: String,
    /// `SuccessURL`.
    #[serde(default)]
    pub success_url: String,
    /// `FailureURL`.
    #[serde(default)]
    pub failure_url: String,
    /// When it may start (request time + DelaySeconds, wall clock), or Unknown Time.
    #[serde(with = "xsd_time")]
    pub due: DateTime,
    /// Not started or in progress.
    pub state: TransferState,
}

/// A finished transfer waiting for its TransferCompleteResponse (TR-069 Annex A.3.3.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TransferResult {
    /// The transfer's CommandKey.
    pub command_key: String,
    /// Which `M …` event it raises.
    pub kind: TransferKind,
    /// The transfer's `FileType` (empty when the engine did not know the transfer).
    #[serde(default)]
    pub file_type: String,
    /// `FaultCode`: 0 = success.
    pub fault_code: u32,
    /// `FaultString` (empty on success).
    pub fault_string: String,
    /// `StartTime`.
    #[serde(with = "xsd_time")]
    pub start: DateTime,
    /// `CompleteTime`.
    #[serde(with = "xsd_time")]
    pub complete: DateTime,
}

/// `DateTime` as its `xsd:dateTime` text in the persisted form.
mod xsd_time {
    use cwmp_model::DateTime;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(d: &DateTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&d.to_xsd())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime, D::Error> {
        let s = String::deserialize(d)?;
        DateTime::parse(&s).ok_or_else(|| serde::de::Error::custom("invalid xsd:dateTime"))
    }
}

#[cfg(test)]
mod complete_transfer_tests {
    use super::*;

    fn transfer(key: &str, state: TransferState) -> QueuedTransfer {
        QueuedTransfer {
            command_key: key.into(),
            file_type: "1 Firmware Upgrade Image".into(),
            url: "http://files/fw.img".into(),
            username: String::new(),
            password: Secret::default(),
            file_size: 0,
            target_file_name: String::new(),
            success_url: String::new(),
            failure_url: String::new(),
            due: DateTime::UNKNOWN,
            state,
        }
    }

    #[test]
    fn completes_only_an_in_progress_transfer_once() {
        let mut s = PersistentState::new();
        s.transfers
            .push(transfer("waiting", TransferState::NotStarted));
        s.transfers.push(transfer("fw", TransferState::InProgress));
        let t0 = DateTime::from_unix(1_700_000_000).expect("time");
        let t1 = DateTime::from_unix(1_700_000_100).expect("time");
        assert!(s.complete_transfer("fw", None, t0, t1));
        assert_eq!(s.transfers.len(), 1);
        assert_eq!(s.transfer_results.len(), 1);
        let r = &s.transfer_results[0];
        assert_eq!(
            (r.command_key.as_str(), r.fault_code, r.start, r.complete),
            ("fw", 0, t0, t1)
        );
        assert_eq!(r.file_type, "1 Firmware Upgrade Image");
        // Repeating it (or naming a transfer that has not started) changes nothing.
        assert!(!s.complete_transfer("fw", None, t0, t1));
        assert!(!s.complete_transfer("waiting", None, t0, t1));
        assert_eq!(s.transfer_results.len(), 1);
        let f = cwmp_model::Fault::with_message(cwmp_model::FaultCode::FileCorrupted, "bad");
        s.transfers.push(transfer("x", TransferState::InProgress));
        assert!(s.complete_transfer("x", Some(&f), t0, t1));
        assert_eq!(
            (
                s.transfer_results[1].fault_code,
                s.transfer_results[1].fault_string.as_str()
            ),
            (9018, "bad")
        );
        let codes = s.pending_event_codes();
        assert!(
            codes.contains(&"7 TRANSFER COMPLETE".to_string()),
            "{codes:?}"
        );
    }

    /// A transfer password is a `Secret` now but persists as the plain string it always was:
    /// a state file written before the change (password a JSON string) loads, and the file
    /// written now is the same shape.
    #[test]
    fn transfer_password_keeps_its_persisted_form() {
        let mut s = PersistentState::new();
        let mut t = transfer("fw", TransferState::NotStarted);
        t.password = Secret::new("fw-secret");
        s.transfers.push(t);
        let json = serde_json::to_string(&s).expect("serialise");
        assert!(json.contains(r#""password":"fw-secret""#), "{json}");
        // The same document as an older version wrote it (a plain string field) loads.
        let old: PersistentState = serde_json::from_str(&json).expect("old form loads");
        assert_eq!(old.transfers[0].password.expose(), "fw-secret");
        assert_eq!(old, s);
        let empty = json.replace(r#""password":"fw-secret""#, r#""password":"""#);
        let back: PersistentState = serde_json::from_str(&empty).expect("empty password loads");
        assert!(back.transfers[0].password.is_empty());
        assert!(!format!("{old:?}").contains("fw-secret"));
    }
}
