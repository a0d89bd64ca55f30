//! One log line per CWMP session, built from the engine's trace events: what an operator
//! reads to see what the phone did with the ACS.
//!
//! ```text
//! session 3: 6 CONNECTION REQUEST → GetParameterValues(1), SetParameterValues(1) → ok in 45 ms
//! session 4: 1 BOOT → failed (cannot connect to the ACS: connection refused) → http://acs:7547/: retry 2 in 9 s
//! session 5: 2 PERIODIC → abandoned: the phone is stopping (its events stay queued)
//! ```
//!
//! A failed session is said when the engine has decided the next attempt (its retry timer),
//! so the line names the URL and when the phone tries again; a session cut short because the
//! phone is stopping is not the ACS's fault and says so.

use cwmp_engine::{Timer, TraceEvent};
use std::time::Instant;

/// What the ACS sent that is not a request (responses to the phone's own messages).
const NOT_REQUESTS: &[&str] = &[
    "InformResponse",
    "TransferCompleteResponse",
    "AutonomousTransferCompleteResponse",
    "GetRPCMethodsResponse",
    "empty",
    "",
];

#[derive(Debug)]
struct Current {
    id: u64,
    url: String,
    retry_count: u32,
    started: Instant,
    events: Vec<String>,
    rpcs: Vec<(String, u32)>,
    faults: Vec<String>,
}

impl Current {
    fn head(&self) -> String {
        let events = if self.events.is_empty() {
            "(no Inform)".to_owned()
        } else {
            self.events.join(", ")
        };
        let rpcs = if self.rpcs.is_empty() {
            "no requests".to_owned()
        } else {
            self.rpcs
                .iter()
                .map(|(m, n)| format!("{m}({n})"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let faults = if self.faults.is_empty() {
            String::new()
        } else {
            format!(" [faults: {}]", self.faults.join("; "))
        };
        format!("session {}: {events} → {rpcs}{faults}", self.id)
    }
}

/// A line to log, with its level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// `Info` for sessions that ended well or were abandoned on shutdown, `Warn` for failures.
    pub level: log::Level,
    /// The text.
    pub text: String,
}

/// Builds the per-session lines from trace events.
#[derive(Debug, Default)]
pub struct SessionLog {
    current: Option<Current>,
    /// A failed session waiting for the engine's retry decision.
    failed: Option<(Current, String, u128)>,
}

impl SessionLog {
    /// A new, empty log.
    pub fn new() -> SessionLog {
        SessionLog::default()
    }

    /// Feed one trace event; `stopping` is whether the phone is shutting down. Returns the
    /// lines to log now.
    pub fn on_event(&mut self, ev: &TraceEvent, stopping: bool) -> Vec<Line> {
        let mut out = Vec::new();
        match ev {
            TraceEvent::SessionStarted {
                session_id,
                url,
                retry_count,
            } => {
                out.extend(self.flush_failed(None));
                self.current = Some(Current {
                    id: *session_id,
                    url: crate::trace::redact_url(url),
                    retry_count: *retry_count,
                    started: Instant::now(),
                    events: Vec::new(),
                    rpcs: Vec::new(),
                    faults: Vec::new(),
                });
            }
            TraceEvent::MessageSent { method, detail, .. } => {
                if let Some(c) = self.current.as_mut() {
                    if method == "Inform" {
                        c.events = detail.clone();
                    } else if method == "Fault" {
                        c.faults.extend(detail.iter().cloned());
                    }
                }
            }
            TraceEvent::MessageReceived { method, detail, .. } => {
                if let Some(c) = self.current.as_mut() {
                    if method == "Fault" {
                        c.faults.extend(detail.iter().map(|d| format!("ACS {d}")));
                    } else if !NOT_REQUESTS.contains(&method.as_str()) {
                        match c.rpcs.iter_mut().find(|(m, _)| m == method) {
                            Some((_, n)) => *n += 1,
                            None => c.rpcs.push((method.clone(), 1)),
                        }
                    }
                }
            }
            TraceEvent::SessionEnded { ok, reason, .. } => {
                if let Some(c) = self.current.take() {
                    let ms = c.started.elapsed().as_millis();
                    if *ok {
                        out.push(Line {
                            level: log::Level::Info,
                            text: format!("{} → ok in {ms} ms", c.head()),
                        });
                    } else if stopping || reason.contains("shut down") {
                        out.push(Line {
                            level: log::Level::Info,
                            text: format!(
                                "{} → abandoned: the phone is stopping (its events stay queued)",
                                c.head()
                            ),
                        });
                    } else {
                        self.failed = Some((c, reason.clone(), ms));
                    }
                }
            }
            TraceEvent::TimerArmed {
                timer: Timer::Retry,
                in_ms,
            } => out.extend(self.flush_failed(Some(*in_ms))),
            _ => {}
        }
        out
    }

    /// The failed session's line, with the retry when known.
    fn flush_failed(&mut self, retry_in_ms: Option<u64>) -> Option<Line> {
        let (c, reason, ms) = self.failed.take()?;
        let next = match retry_in_ms {
            Some(in_ms) => format!(
                "; retry {} in {} s",
                c.retry_count + 1,
                in_ms.div_ceil(1000)
            ),
            None => String::new(),
        };
        Some(Line {
            level: log::Level::Warn,
            text: format!(
                "{} → failed after {ms} ms: {}: {reason}{next}",
                c.head(),
                c.url
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn started(id: u64, retry: u32) -> TraceEvent {
        TraceEvent::SessionStarted {
            session_id: id,
            url: "http://u:p@acs.example:7547/".into(),
            retry_count: retry,
        }
    }

    #[test]
    fn a_good_session_is_one_info_line_with_events_and_rpc_counts() {
        let mut l = SessionLog::new();
        assert!(l.on_event(&started(3, 0), false).is_empty());
        l.on_event(
            &TraceEvent::MessageSent {
                session_id: 3,
                method: "Inform".into(),
                cwmp_id: None,
                bytes: 1,
                detail: vec!["6 CONNECTION REQUEST".into()],
            },
            false,
        );
        for m in [
            "InformResponse",
            "GetParameterValues",
            "GetParameterValues",
            "SetParameterValues",
        ] {
            l.on_event(
                &TraceEvent::MessageReceived {
                    session_id: 3,
                    status: 200,
                    method: m.into(),
                    cwmp_id: None,
                    bytes: 1,
                    detail: vec![],
                },
                false,
            );
        }
        let out = l.on_event(
            &TraceEvent::SessionEnded {
                session_id: 3,
                ok: true,
                reason: "done".into(),
            },
            false,
        );
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].level, log::Level::Info);
        assert!(
            out[0].text.starts_with(
                "session 3: 6 CONNECTION REQUEST → GetParameterValues(2), SetParameterValues(1) → ok in "
            ),
            "{}",
            out[0].text
        );
    }

    #[test]
    fn a_failure_names_the_url_and_the_next_attempt_and_a_shutdown_is_not_a_failure() {
        let mut l = SessionLog::new();
        l.on_event(&started(4, 1), false);
        let reason = "cannot connect to the ACS: connection refused".to_owned();
        let none = l.on_event(
            &TraceEvent::SessionEnded {
                session_id: 4,
                ok: false,
                reason,
            },
            false,
        );
        assert!(none.is_empty(), "said once the retry is known");
        let out = l.on_event(
            &TraceEvent::TimerArmed {
                timer: Timer::Retry,
                in_ms: 8_200,
            },
            false,
        );
        assert_eq!(out[0].level, log::Level::Warn);
        assert!(
            out[0].text.contains("http://***@acs.example:7547/: cannot connect to the ACS: connection refused; retry 2 in 9 s"),
            "{}",
            out[0].text
        );
        l.on_event(&started(5, 0), true);
        let out = l.on_event(
            &TraceEvent::SessionEnded {
                session_id: 5,
                ok: false,
                reason: "connection reset".into(),
            },
            true,
        );
        assert_eq!(out[0].level, log::Level::Info);
        assert!(out[0].text.contains("abandoned: the phone is stopping"));
    }
}
