//! Tuning knobs of the engine. Everything the ACS can write (URL, periodic inform, retry
//! parameters, throttles) lives in the store and is read from it; nothing here duplicates it.

use std::time::Duration;

/// The engine's configuration: documented defaults for every knob ([`AgentConfig::default`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AgentConfig {
    /// The data model root, ending in `.`: `Device.` (TR-106 Device:1, the default) or
    /// `InternetGatewayDevice.`. `ManagementServer.` and `DeviceInfo.` parameters are read
    /// below it.
    pub root: String,
    /// How long to wait for each HTTP response before the session fails (TR-069 §3.4: at least
    /// 30 s). Values below 30 s are raised to 30 s. A `cwmp:SessionTimeout` header in the
    /// InformResponse raises it for that session (up to [`AgentConfig::max_response_timeout`]).
    /// Default 30 s.
    pub response_timeout: Duration,
    /// Upper bound for a `SessionTimeout` the ACS asks for. Default 600 s.
    pub max_response_timeout: Duration,
    /// How many times one CPE request (TransferComplete) is re-sent after an ACS fault 8005
    /// before the session fails (TR-069 §3.7.1.4 "method retry"). Default 3.
    pub max_request_retries: u32,
    /// How many ACS requests one session may carry before the CPE gives up on it (a runaway
    /// ACS must not keep the CPE in a session forever). Default 10 000.
    pub max_acs_requests_per_session: u32,
    /// Most Downloads accepted and not yet reported (GetQueuedTransfers lists at most 16,
    /// TR-069 Annex A.3.2.8); a Download beyond it is refused with 9004. Default 16.
    pub max_queued_transfers: usize,
    /// Most pending ScheduleInforms; one beyond it is refused with 9004. Default 32.
    pub max_scheduled_informs: usize,
    /// Most distinct changed parameters remembered for `4 VALUE CHANGE`; further names are
    /// dropped until the next Inform delivers the list. Default 1024.
    pub max_changed_parameters: usize,
    /// Limits for parsing ACS messages. Default: the codec's defaults (4 MiB).
    pub soap_limits: cwmp_soap::Limits,
    /// Emit [`crate::Output::Trace`] events. Default false.
    pub trace: bool,
    /// The embedder listens for HTTP connection requests: the engine decides when
    /// (`HTTPConnectionRequestEnable`), with which credentials, and writes
    /// `ConnectionRequestURL` from the address the embedder reports (see
    /// [`crate::Output::ListenConnectionRequests`]). Default false: the embedder runs no
    /// listener and the engine leaves those parameters alone.
    pub connection_requests: bool,
}

/// The response-timeout floor of TR-069 §3.4.
pub const MIN_RESPONSE_TIMEOUT: Duration = Duration::from_secs(30);

impl Default for AgentConfig {
    fn default() -> AgentConfig {
        AgentConfig {
            root: "Device.".to_owned(),
            response_timeout: MIN_RESPONSE_TIMEOUT,
            max_response_timeout: Duration::from_secs(600),
            max_request_retries: 3,
            max_acs_requests_per_session: 10_000,
            max_queued_transfers: 16,
            max_scheduled_informs: 32,
            max_changed_parameters: 1024,
            soap_limits: cwmp_soap::Limits::default(),
            trace: false,
            connection_requests: false,
        }
    }
}

impl AgentConfig {
    /// A configuration with every default.
    pub fn new() -> AgentConfig {
        AgentConfig::default()
    }

    /// Builder: enable or disable [`crate::Output::Trace`].
    pub fn with_trace(mut self, on: bool) -> AgentConfig {
        self.trace = on;
        self
    }

    /// Builder: set the data-model root (`Device.` or `InternetGatewayDevice.`).
    pub fn with_root(mut self, root: impl Into<String>) -> AgentConfig {
        self.root = root.into();
        self
    }

    pub(crate) fn validate(&self) -> Result<(), crate::Error> {
        if self.root.is_empty() || !self.root.ends_with('.') {
            return Err(crate::Error::InvalidConfig(
                "root must be an object path ending in '.'".into(),
            ));
        }
        if self.max_queued_transfers == 0 || self.max_queued_transfers > 16 {
            return Err(crate::Error::InvalidConfig(
                "max_queued_transfers must be 1..=16 (GetQueuedTransfers lists at most 16)".into(),
            ));
        }
        Ok(())
    }

    /// The effective per-response timeout.
    pub(crate) fn base_response_timeout(&self) -> Duration {
        self.response_timeout.max(MIN_RESPONSE_TIMEOUT)
    }
}
