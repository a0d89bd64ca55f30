//! Driving the sans-IO engine with **your own loop** (design invariant 2: one input enum, one
//! output enum, one drain rule), without `cwmp_client::Client`: the shape a firmware
//! engineer follows to put the engine into an existing event loop (epoll, an RTOS task …).
//!
//! ```text
//! cargo run -p cwmp-examples --bin own_event_loop -- http://127.0.0.1:7547/
//! ```
//!
//! It runs one boot session (`0 BOOTSTRAP`, `1 BOOT`) against the ACS, answers whatever the
//! ACS asks in it, and exits when the session ends. Every CWMP decision is the engine's: each
//! `SendPost` says where to POST, with which cookie, credentials and response timeout
//! (`cwmp:SessionTimeout`), and redirects and `Set-Cookie` go back in with the response.
//! HTTP goes through `cwmp_client::HttpSession` (keep-alive, the 401 handshake); any HTTP
//! stack will do.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use cwmp_client::{HttpSession, PostRequest, TlsSettings, TransportConfig};
use cwmp_engine::{Agent, AgentConfig, BootReason, Input, Now, Output, PersistentState};
use cwmp_model::{MemoryBackend, SchemaStore};
use deskphone_datamodel::{DeskPhoneLive, DeskPhoneModel};
use std::time::Instant;

fn now() -> Now {
    Now::new(Instant::now(), cwmp_client::system_wall_clock())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "http://127.0.0.1:7547/".into());
    let model = DeskPhoneModel::builtin();
    let items = MemoryBackend::with_items([("acs-server-address", url.as_str())]);
    let live = DeskPhoneLive::new("00:1A:E8:A1:B2:C3")?;
    let mut store = SchemaStore::with_backend(model.schema().clone(), items, Box::new(live));

    let mut agent = Agent::new(
        AgentConfig::default(),
        PersistentState::new(),
        BootReason::PowerOn,
        42, // a real device draws this from its RNG
        now(),
    )?;
    let mut http: Option<HttpSession> = None;
    let mut input = Input::Timeout;
    loop {
        // 1. Feed one input.
        agent.handle_input(&mut store, now(), input);
        input = Input::Timeout;
        // 2. Drain every output (the drain rule). An HTTP response becomes the next input.
        let mut response = None;
        while let Some(out) = agent.poll_output() {
            match out {
                Output::SessionStarted { session_id } => {
                    log::info!("session {session_id} started");
                    http = None; // fresh connection and cookie jar
                }
                Output::SendPost {
                    url,
                    body,
                    soap_action,
                    cookie,
                    timeout,
                    credentials,
                    ..
                } => {
                    let session = match http.as_mut() {
                        Some(s) => s,
                        None => http.insert(HttpSession::new(
                            &TransportConfig::default(),
                            &TlsSettings::new(),
                            &url,
                            credentials,
                            7,
                        )?),
                    };
                    let request = PostRequest {
                        url: &url,
                        body: body.as_deref(),
                        soap_action: soap_action.header_value(),
                        cookie: cookie.as_deref(),
                        timeout,
                    };
                    response = Some(match session.send(&request) {
                        Ok(r) => r.into_input(),
                        Err(e) => Input::HttpFailed {
                            reason: e.to_string(),
                        },
                    });
                    // Stop draining: the response must go in before later outputs exist.
                    break;
                }
                Output::SessionEnded { session_id, ok } => {
                    log::info!("session {session_id} ended (ok: {ok})");
                    return Ok(());
                }
                Output::Persist(state) => log::info!("persist: {:?}", state.pending_event_codes()),
                other => log::info!("not handled in this example: {other:?}"),
            }
        }
        if let Some(r) = response {
            input = r;
            continue;
        }
        // 3. Sleep until the next deadline (or, in a real loop, until an event arrives).
        match agent.poll_timeout() {
            Some(deadline) => {
                std::thread::sleep(deadline.saturating_duration_since(Instant::now()))
            }
            None => return Ok(()),
        }
    }
}
