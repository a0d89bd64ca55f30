//! The CWMP side of the fake ACS: sessions as GenieACS 1.2.16 runs them (TR-069 §3.7.1; the
//! envelopes README "Session behaviour"), spoken with the project's own codec.
//!
//! ```text
//!  POST Inform ──► 200 InformResponse + Set-Cookie: session=<16 hex>   (new session, next script)
//!  POST TransferComplete / GetRPCMethods / … ──► 200 …Response          (CPE requests)
//!  POST empty or a CPE response ──► 200 next scripted ACS message
//!                                └─► 204 + Connection: close when the script is done
//! ```

use super::{RecordedRequest, Reply};
use cwmp_soap::{
    parse, to_vec, Body, CwmpNamespace, Envelope, GetRPCMethodsResponse, Header, Inform,
    InformResponse, Limits, SetParameterAttributes, SetParameterAttributesStruct, SoapFault,
};
use std::collections::VecDeque;

/// One message the fake ACS sends during a session, after the InformResponse.
#[derive(Debug, Clone)]
pub enum AcsMessage {
    /// An ACS request, written with the codec in the session's namespace, with a fresh
    /// `cwmp:ID`.
    Request(Body),
    /// An envelope written as it is (its own ID and namespace).
    Envelope(Envelope),
    /// These bytes as a `200 text/xml` body (captured or malformed envelopes).
    Raw(Vec<u8>),
    /// Any HTTP reply (a 500 in the middle of a session …). Does not end the session.
    Reply(Reply),
}

impl AcsMessage {
    /// SetParameterAttributes turning on `notification` (1 passive, 2 active) for one
    /// parameter: how a test ACS asks to hear of a value's changes.
    pub fn notify(name: impl Into<String>, notification: i32) -> AcsMessage {
        AcsMessage::Request(Body::SetParameterAttributes(SetParameterAttributes {
            parameter_list: vec![SetParameterAttributesStruct {
                name: name.into(),
                notification_change: true,
                notification,
                access_list_change: false,
                access_list: vec![],
            }],
        }))
    }
}

/// What one session does after the Inform.
#[derive(Debug, Clone, Default)]
struct SessionScript {
    /// Replaces the InformResponse (e.g. a SOAP fault on the Inform).
    inform_reply: Option<AcsMessage>,
    messages: VecDeque<AcsMessage>,
}

/// Scripts for successive CWMP sessions, and session-wide rules.
///
/// Each Inform starts a session that takes the next script; a session without a script just
/// ends (InformResponse, then 204 on the empty POST).
#[derive(Debug, Clone, Default)]
pub struct CwmpScript {
    sessions: VecDeque<SessionScript>,
    /// Used by every session once `sessions` is exhausted.
    every: Option<Vec<AcsMessage>>,
    require_cookie: bool,
    /// `cwmp:SessionTimeout` in every InformResponse.
    session_timeout: Option<u32>,
}

impl CwmpScript {
    /// No scripted session, cookies not required.
    pub fn new() -> CwmpScript {
        CwmpScript::default()
    }

    /// Add a session that sends these messages, one per HTTP response, after the CPE's empty
    /// POST (or its responses).
    pub fn session(mut self, messages: impl IntoIterator<Item = AcsMessage>) -> CwmpScript {
        self.sessions.push_back(SessionScript {
            inform_reply: None,
            messages: messages.into_iter().collect(),
        });
        self
    }

    /// Send these messages in every session that has no script of its own (once the queued
    /// sessions are used up), e.g. for benchmarks that run many identical sessions.
    pub fn every_session(mut self, messages: impl IntoIterator<Item = AcsMessage>) -> CwmpScript {
        self.every = Some(messages.into_iter().collect());
        self
    }

    /// Add a session whose Inform is answered with `reply` instead of an InformResponse (a
    /// SOAP fault, a 500 …); the session continues only if the CPE continues it.
    pub fn session_with_inform_reply(
        mut self,
        reply: AcsMessage,
        messages: impl IntoIterator<Item = AcsMessage>,
    ) -> CwmpScript {
        self.sessions.push_back(SessionScript {
            inform_reply: Some(reply),
            messages: messages.into_iter().collect(),
        });
        self
    }

    /// Answer a POST that is not an Inform and has no valid session cookie with
    /// `400 Invalid session` and `Connection: close`, as GenieACS (default: such a POST joins
    /// the latest open session).
    pub fn require_cookie(mut self, yes: bool) -> CwmpScript {
        self.require_cookie = yes;
        self
    }

    /// Put `cwmp:SessionTimeout` (seconds) in the header of every InformResponse: the ACS
    /// asks the CPE to wait that long for each response (TR-069 §3.4).
    pub fn session_timeout(mut self, secs: u32) -> CwmpScript {
        self.session_timeout = Some(secs);
        self
    }

    pub(crate) fn append(&mut self, other: CwmpScript) {
        if other.session_timeout.is_some() {
            self.session_timeout = other.session_timeout;
        }
        self.sessions.extend(other.sessions);
        if other.every.is_some() {
            self.every = other.every;
        }
        self.require_cookie |= other.require_cookie;
    }
}

/// What happened in one CWMP session, for assertions.
#[derive(Debug, Clone)]
pub struct SessionLog {
    /// The value of the `session` cookie the ACS set.
    pub cookie: String,
    /// The Inform that opened it.
    pub inform: Inform,
    /// The namespace of the Inform.
    pub namespace: CwmpNamespace,
    /// Every CPE message after the Inform; `None` is an empty POST.
    pub received: Vec<Option<Envelope>>,
    /// The names of the messages the ACS sent (`InformResponse`, `GetParameterValues`, …).
    pub sent: Vec<String>,
    /// Whether the session ended with a 204.
    pub ended: bool,
    /// Protocol problems the ACS noticed (unparsable bodies, unknown session …).
    pub errors: Vec<String>,
}

impl SessionLog {
    /// The event codes of the Inform that opened the session (`0 BOOTSTRAP`, `1 BOOT`, …).
    pub fn event_codes(&self) -> Vec<String> {
        self.inform.event_codes()
    }
}

/// The CWMP state of the fake ACS.
#[derive(Debug)]
pub(crate) struct Engine {
    /// A deque: the oldest ended sessions leave from the front once the history limit is
    /// reached, in O(1) (a `Vec::remove(0)` of a 20,000-session history made the fake ACS
    /// the bottleneck of the fleet benchmark).
    pub sessions: VecDeque<SessionLog>,
    /// Sessions that ended with a 204, over the server's life.
    pub ended_total: usize,
    /// The most sessions open at once (started by an Inform, not yet ended with a 204).
    pub max_open: usize,
    /// Sessions open now.
    open: usize,
    /// Parallel to `sessions`.
    scripts: VecDeque<SessionScript>,
    next_id: u64,
    history: usize,
}

fn text_reply(status: u16, text: &str) -> Reply {
    Reply::status(status)
        .with_header("Connection", "close")
        .with_body(text)
}

impl Engine {
    pub fn new(history: usize) -> Engine {
        Engine {
            sessions: VecDeque::new(),
            open: 0,
            ended_total: 0,
            max_open: 0,
            scripts: VecDeque::new(),
            next_id: 0,
            history,
        }
    }

    pub fn handle(&mut self, script: &mut CwmpScript, req: &RecordedRequest) -> Reply {
        if req.method != "POST" {
            return Reply::status(405)
                .with_header("Allow", "POST")
                .with_header("Connection", "close")
                .with_body("405 Method Not Allowed");
        }
        let env = if req.body.is_empty() {
            None
        } else {
            match parse(&req.body, &Limits::default()) {
                Ok(e) => Some(e),
                Err(e) => {
                    let msg = format!("unparsable CPE message: {e:?}");
                    if let Some(s) = self.sessions.back_mut() {
                        s.errors.push(msg);
                    }
                    return text_reply(400, "Invalid XML");
                }
            }
        };
        if let Some(Envelope {
            body: Body::Inform(inform),
            namespace,
            header,
        }) = &env
        {
            return self.start_session(script, inform.clone(), *namespace, header.id.clone());
        }
        let idx = match self.session_of(req, script.require_cookie) {
            Some(i) => i,
            None => return text_reply(400, "Invalid session"),
        };
        let ns = self.sessions[idx].namespace;
        self.sessions[idx].received.push(env.clone());
        // CPE requests are answered directly.
        if let Some(e) = &env {
            let answer = match &e.body {
                Body::TransferComplete(_) => Some(Body::TransferCompleteResponse),
                Body::AutonomousTransferComplete(_) => {
                    Some(Body::AutonomousTransferCompleteResponse)
                }
                Body::DUStateChangeComplete(_) => Some(Body::DUStateChangeCompleteResponse),
                Body::AutonomousDUStateChangeComplete(_) => {
                    Some(Body::AutonomousDUStateChangeCompleteResponse)
                }
                Body::GetRPCMethods => Some(Body::GetRPCMethodsResponse(GetRPCMethodsResponse {
                    method_list: vec![
                        "Inform".into(),
                        "GetRPCMethods".into(),
                        "TransferComplete".into(),
                    ],
                })),
                Body::RequestDownload(_) | Body::Kicked(_) => Some(Body::Fault(SoapFault::cwmp(
                    cwmp_model::FaultCode::AcsMethodNotSupported,
                    "Method not supported",
                ))),
                _ => None,
            };
            if let Some(body) = answer {
                let name = body.name().to_string();
                self.sessions[idx].sent.push(name);
                let reply = envelope_reply(&Envelope {
                    namespace: ns,
                    header: Header {
                        id: e.header.id.clone(),
                        ..Header::default()
                    },
                    body,
                });
                return reply;
            }
        }
        // An empty POST or a response to an ACS request: send the next scripted message.
        match self
            .scripts
            .get_mut(idx)
            .and_then(|s| s.messages.pop_front())
        {
            Some(m) => {
                let reply = self.message_reply(m, ns);
                let name = reply_name(&reply);
                self.sessions[idx].sent.push(name);
                reply
            }
            None => {
                self.ended_total += 1;
                self.sessions[idx].ended = true;
                self.open = self.open.saturating_sub(1);
                self.sessions[idx].sent.push("204".into());
                Reply::no_content()
            }
        }
    }

    fn start_session(
        &mut self,
        script: &mut CwmpScript,
        inform: Inform,
        namespace: CwmpNamespace,
        id: Option<String>,
    ) -> Reply {
        let cookie = hex::encode(rand::random::<[u8; 8]>());
        let mut s = script
            .sessions
            .pop_front()
            .unwrap_or_else(|| SessionScript {
                inform_reply: None,
                messages: script.every.clone().unwrap_or_default().into(),
            });
        let mut log = SessionLog {
            cookie: cookie.clone(),
            inform,
            namespace,
            received: Vec::new(),
            sent: Vec::new(),
            ended: false,
            errors: Vec::new(),
        };
        let reply = match s.inform_reply.take() {
            Some(m) => self.message_reply(m, namespace),
            None => envelope_reply(&Envelope {
                namespace,
                header: Header {
                    id,
                    session_timeout: script.session_timeout,
                    ..Header::default()
                },
                body: Body::InformResponse(InformResponse { max_envelopes: 1 }),
            }),
        };
        log.sent.push(reply_name(&reply));
        // Forget the oldest ended sessions beyond the history limit (indices are never kept
        // across requests, so the two vectors just shift together).
        while self.sessions.len() >= self.history.max(1)
            && self.sessions.front().is_some_and(|s| s.ended)
        {
            self.sessions.pop_front();
            self.scripts.pop_front();
        }
        self.sessions.push_back(log);
        self.scripts.push_back(s);
        self.open += 1;
        self.max_open = self.max_open.max(self.open);
        reply
            .with_header("Set-Cookie", &format!("session={cookie}"))
            .with_header("Connection", "keep-alive")
    }

    /// The session a non-Inform POST belongs to: by its `session` cookie, else (when cookies
    /// are not required) the latest open session.
    fn session_of(&mut self, req: &RecordedRequest, require_cookie: bool) -> Option<usize> {
        let cookie = req.header("cookie").and_then(|c| {
            c.split(';').find_map(|kv| {
                let (k, v) = kv.trim().split_once('=')?;
                (k == "session").then(|| v.to_string())
            })
        });
        if let Some(c) = cookie {
            if let Some(i) = self
                .sessions
                .iter()
                .rposition(|s| s.cookie == c && !s.ended)
            {
                return Some(i);
            }
        }
        if require_cookie {
            if let Some(s) = self.sessions.back_mut() {
                s.errors.push("POST without a valid session cookie".into());
            }
            return None;
        }
        self.sessions.iter().rposition(|s| !s.ended)
    }

    fn message_reply(&mut self, m: AcsMessage, ns: CwmpNamespace) -> Reply {
        match m {
            AcsMessage::Request(body) => {
                self.next_id += 1;
                let id = format!("acs-{:04}", self.next_id);
                envelope_reply(&Envelope {
                    namespace: ns,
                    header: Header {
                        id: Some(id),
                        ..Header::default()
                    },
                    body,
                })
            }
            AcsMessage::Envelope(e) => envelope_reply(&e),
            AcsMessage::Raw(bytes) => Reply::xml(bytes),
            AcsMessage::Reply(r) => r,
        }
    }
}

fn envelope_reply(env: &Envelope) -> Reply {
    match to_vec(env) {
        Ok(bytes) => Reply::xml(bytes).with_header("X-Fake-Acs-Message", env.body.name()),
        Err(e) => text_reply(
            500,
            &format!("fake ACS cannot write {}: {e}", env.body.name()),
        ),
    }
}

fn reply_name(r: &Reply) -> String {
    r.headers
        .iter()
        .find(|(n, _)| n == "X-Fake-Acs-Message")
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| format!("HTTP {}", r.status))
}
