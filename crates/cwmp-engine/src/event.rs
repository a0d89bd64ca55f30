//! Inform event codes and the queue of undelivered events (TR-069 Annex A.3.3.1).
//!
//! Events are raised by inputs (boot, timers, RPCs, connection requests) and removed when
//! delivered: on the InformResponse, except `7 TRANSFER COMPLETE` and its `M Download`, which
//! are delivered by the TransferCompleteResponse (those two are derived from the pending
//! transfer results and never stored in this queue; `0 BOOTSTRAP` and `4 VALUE CHANGE` are
//! derived likewise, from the bootstrap flag and the list of changed parameters).

use serde::{Deserialize, Serialize};
use std::fmt;

/// An Inform `EventCode` (TR-069 Annex A.3.3.1), printed exactly as on the wire (`"4 VALUE CHANGE"`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum EventCode {
    /// `0 BOOTSTRAP`: first contact, after a factory reset, after a change of the ACS URL.
    Bootstrap,
    /// `1 BOOT`: the device started.
    Boot,
    /// `2 PERIODIC`: the periodic inform interval elapsed.
    Periodic,
    /// `3 SCHEDULED`: a ScheduleInform delay expired (with `M ScheduleInform`).
    Scheduled,
    /// `4 VALUE CHANGE`: a parameter with passive or active notification changed.
    ValueChange,
    /// `5 KICKED`.
    Kicked,
    /// `6 CONNECTION REQUEST`: the ACS asked for a session; never retried.
    ConnectionRequest,
    /// `7 TRANSFER COMPLETE`: a transfer finished (with `M Download`).
    TransferComplete,
    /// `8 DIAGNOSTICS COMPLETE`: a diagnostic requested by the ACS finished.
    DiagnosticsComplete,
    /// `M Reboot`: a Reboot RPC was executed (with `1 BOOT`).
    MReboot,
    /// `M ScheduleInform`: a ScheduleInform fired (with `3 SCHEDULED`).
    MScheduleInform,
    /// `M Download`: a Download finished (with `7 TRANSFER COMPLETE`).
    MDownload,
    /// Any other code (vendor `X <OUI> <name>`, `M X_…`, codes of later amendments); treated as
    /// persistent, and as "multiple" when it starts with `M `.
    Other(String),
}

/// What happens to an undelivered event after a failed session or a restart (TR-069 Annex A.3.3.1,
/// column "Persist/Retry").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Persistence {
    /// Dropped after a failed session (`6 CONNECTION REQUEST`).
    None,
    /// Retried in the next session, lost on restart (`1 BOOT`, `4 VALUE CHANGE`, `8 …`).
    Retry,
    /// Retried and kept across restarts (RT+RB): part of [`crate::PersistentState`].
    RetryReboot,
}

impl EventCode {
    /// The wire form, e.g. `"0 BOOTSTRAP"`, `"M Reboot"`.
    pub fn as_str(&self) -> &str {
        match self {
            EventCode::Bootstrap => "0 BOOTSTRAP",
            EventCode::Boot => "1 BOOT",
            EventCode::Periodic => "2 PERIODIC",
            EventCode::Scheduled => "3 SCHEDULED",
            EventCode::ValueChange => "4 VALUE CHANGE",
            EventCode::Kicked => "5 KICKED",
            EventCode::ConnectionRequest => "6 CONNECTION REQUEST",
            EventCode::TransferComplete => "7 TRANSFER COMPLETE",
            EventCode::DiagnosticsComplete => "8 DIAGNOSTICS COMPLETE",
            EventCode::MReboot => "M Reboot",
            EventCode::MScheduleInform => "M ScheduleInform",
            EventCode::MDownload => "M Download",
            EventCode::Other(s) => s,
        }
    }

    /// The code for a wire string; unknown strings become [`EventCode::Other`].
    pub fn parse(s: &str) -> EventCode {
        match s {
            "0 BOOTSTRAP" => EventCode::Bootstrap,
            "1 BOOT" => EventCode::Boot,
            "2 PERIODIC" => EventCode::Periodic,
            "3 SCHEDULED" => EventCode::Scheduled,
            "4 VALUE CHANGE" => EventCode::ValueChange,
            "5 KICKED" => EventCode::Kicked,
            "6 CONNECTION REQUEST" => EventCode::ConnectionRequest,
            "7 TRANSFER COMPLETE" => EventCode::TransferComplete,
            "8 DIAGNOSTICS COMPLETE" => EventCode::DiagnosticsComplete,
            "M Reboot" => EventCode::MReboot,
            "M ScheduleInform" => EventCode::MScheduleInform,
            "M Download" => EventCode::MDownload,
            other => EventCode::Other(other.to_owned()),
        }
    }

    /// Whether each occurrence is a separate EventStruct with its own CommandKey
    /// ("Multiple" in TR-069 Annex A.3.3.1); the numbered codes are "Single".
    pub fn is_multiple(&self) -> bool {
        self.as_str().starts_with("M ")
    }

    /// Retry/restart behaviour (TR-069 Annex A.3.3.1, icwmp's flags).
    pub(crate) fn persistence(&self) -> Persistence {
        match self {
            EventCode::ConnectionRequest => Persistence::None,
            EventCode::Boot | EventCode::ValueChange | EventCode::DiagnosticsComplete => {
                Persistence::Retry
            }
            _ => Persistence::RetryReboot,
        }
    }

    /// Sort key for the Inform: numbered events by number, then `M …`, then the rest, so that
    /// the Inform reads like the examples in TR-069 (`1 BOOT` before `M Reboot`).
    pub(crate) fn rank(&self) -> u32 {
        let s = self.as_str();
        if let Some((n, _)) = s.split_once(' ') {
            if let Ok(n) = n.parse::<u32>() {
                return n;
            }
        }
        if self.is_multiple() {
            1000
        } else {
            2000
        }
    }
}

impl fmt::Display for EventCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for EventCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for EventCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(EventCode::parse(&s))
    }
}

/// An undelivered event with its CommandKey (empty when not applicable).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct QueuedEvent {
    /// The event code.
    pub code: EventCode,
    /// The CommandKey (`M Reboot`, `M ScheduleInform`, …), else empty.
    #[serde(default)]
    pub command_key: String,
}

impl QueuedEvent {
    /// An event with a CommandKey.
    pub fn new(code: EventCode, command_key: impl Into<String>) -> QueuedEvent {
        QueuedEvent {
            code,
            command_key: command_key.into(),
        }
    }
}

/// The in-memory queue: each entry has an id so that an Inform can later mark exactly the
/// entries it carried as delivered, even if more were queued meanwhile.
#[derive(Debug, Default, Clone)]
pub(crate) struct EventQueue {
    entries: Vec<(u64, QueuedEvent)>,
    next_id: u64,
}

impl EventQueue {
    /// Queue an event. A "Single" code already queued is not queued twice (TR-069 Annex A.3.3.1).
    /// Returns whether the queue changed.
    pub(crate) fn push(&mut self, event: QueuedEvent) -> bool {
        if !event.code.is_multiple() && self.entries.iter().any(|(_, e)| e.code == event.code) {
            return false;
        }
        self.next_id += 1;
        self.entries.push((self.next_id, event));
        true
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Entries in Inform order (rank, then age), with their ids.
    pub(crate) fn ordered(&self) -> Vec<(u64, &QueuedEvent)> {
        let mut v: Vec<(u64, &QueuedEvent)> = self.entries.iter().map(|(i, e)| (*i, e)).collect();
        v.sort_by_key(|(id, e)| (e.code.rank(), *id));
        v
    }

    /// Remove the entries with these ids; returns how many were removed.
    pub(crate) fn remove_ids(&mut self, ids: &[u64]) -> usize {
        let before = self.entries.len();
        self.entries.retain(|(i, _)| !ids.contains(i));
        before - self.entries.len()
    }

    /// Keep only the entries for which `keep` is true; returns whether anything was removed.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&QueuedEvent) -> bool) -> bool {
        let before = self.entries.len();
        self.entries.retain(|(_, e)| keep(e));
        before != self.entries.len()
    }

    /// The entries that survive a restart (RT+RB), in queue order.
    pub(crate) fn persistent(&self) -> Vec<QueuedEvent> {
        self.entries
            .iter()
            .filter(|(_, e)| e.code.persistence() == Persistence::RetryReboot)
            .map(|(_, e)| e.clone())
            .collect()
    }

    /// Every entry, in queue order.
    pub(crate) fn all(&self) -> impl Iterator<Item = &QueuedEvent> {
        self.entries.iter().map(|(_, e)| e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_strings_round_trip() {
        for c in [
            EventCode::Bootstrap,
            EventCode::Boot,
            EventCode::Periodic,
            EventCode::Scheduled,
            EventCode::ValueChange,
            EventCode::Kicked,
            EventCode::ConnectionRequest,
            EventCode::TransferComplete,
            EventCode::DiagnosticsComplete,
            EventCode::MReboot,
            EventCode::MScheduleInform,
            EventCode::MDownload,
            EventCode::Other("X 001AE8 Foo".into()),
        ] {
            assert_eq!(EventCode::parse(c.as_str()), c);
        }
        assert_eq!(EventCode::ValueChange.to_string(), "4 VALUE CHANGE");
    }

    #[test]
    fn single_events_are_not_duplicated_multiple_are() {
        let mut q = EventQueue::default();
        assert!(q.push(QueuedEvent::new(EventCode::Periodic, "")));
        assert!(!q.push(QueuedEvent::new(EventCode::Periodic, "")));
        assert!(q.push(QueuedEvent::new(EventCode::MScheduleInform, "a")));
        assert!(q.push(QueuedEvent::new(EventCode::MScheduleInform, "a")));
        assert_eq!(q.len(), 3);
    }

    #[test]
    fn order_is_by_number_then_multiple() {
        let mut q = EventQueue::default();
        q.push(QueuedEvent::new(EventCode::MReboot, "k"));
        q.push(QueuedEvent::new(EventCode::Periodic, ""));
        q.push(QueuedEvent::new(EventCode::Boot, ""));
        let codes: Vec<&str> = q.ordered().iter().map(|(_, e)| e.code.as_str()).collect();
        assert_eq!(codes, ["1 BOOT", "2 PERIODIC", "M Reboot"]);
    }

    #[test]
    fn persistence_classes() {
        assert_eq!(
            EventCode::ConnectionRequest.persistence(),
            Persistence::None
        );
        assert_eq!(EventCode::Boot.persistence(), Persistence::Retry);
        assert_eq!(EventCode::MReboot.persistence(), Persistence::RetryReboot);
        assert_eq!(EventCode::Periodic.persistence(), Persistence::RetryReboot);
    }
}
