//! One behavioural suite, two drivers (issue: "the engine owns the whole protocol").
//!
//! Every CWMP decision is the engine's: where to POST (the Inform's redirect), with which
//! cookies, credentials and response timeout (`cwmp:SessionTimeout`), when to listen for
//! connection requests, on which path and with which credentials, and what
//! ConnectionRequestURL says. A driver only performs the engine's outputs. The proof: the same
//! scenarios pass with the shipped [`cwmp_client::Client`] and with [`minimal`], a driver of
//! about a hundred lines written here on `std::net` alone (plain HTTP, no Digest towards the
//! ACS, the connection-request decisions from `cwmp-connreq`'s pure server).
//!
//! Peers: the fake ACS on loopback; `curl --digest` as the ACS's connection-request client.

use cwmp_client::{Client, ClientConfig, ClientHandle, ConnectionRequestConfig, Device, Exit};
use cwmp_engine::{BootReason, DownloadRequest, PersistentState};
use cwmp_model::{MemoryStore, ParameterStore, Url};
use cwmp_soap::{Body, CwmpNamespace, Envelope, Header};
use cwmp_testkit::acs::{AcsMessage, CwmpScript, FakeAcs, Redirect, Reply};
use std::process::Command;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const MS: &str = "Device.ManagementServer.";
const CR_USER: &str = "acs-cr";
const CR_PASS: &str = "cr-s3cret";

fn p(leaf: &str) -> String {
    format!("{MS}{leaf}")
}

/// A job on the driver's thread, with the store.
type Job = Box<dyn FnOnce(&mut dyn ParameterStore) + Send>;

/// What the suite needs of a driver: start it, run jobs on its thread, stop it.
trait Driver {
    fn start(store: MemoryStore, seed: u64) -> Self;
    fn job(&self, job: Job);
    fn stop(self) -> MemoryStore;
}

/// The phone under test: a Desk Phone data model in memory, driven by `D`.
struct Phone<D: Driver> {
    driver: Option<D>,
}

impl<D: Driver> Phone<D> {
    fn start(acs: &FakeAcs, seed: u64) -> Phone<D> {
        let model = deskphone_datamodel::DeskPhoneModel::builtin();
        let mut store = MemoryStore::in_memory(model.schema().clone());
        for (leaf, v) in [
            ("URL", acs.url()),
            ("PeriodicInformEnable", "false"),
            ("ConnectionRequestUsername", CR_USER),
            ("ConnectionRequestPassword", CR_PASS),
        ] {
            store.set_internal(&p(leaf), v).expect(leaf);
        }
        Phone {
            driver: Some(D::start(store, seed)),
        }
    }

    fn value(&self, leaf: &str) -> String {
        let (tx, rx) = mpsc::channel();
        let n = p(leaf);
        self.driver
            .as_ref()
            .expect("running")
            .job(Box::new(move |s| {
                let _ = tx.send(s.internal_value(&n).map(|v| v.to_lexical()));
            }));
        rx.recv_timeout(Duration::from_secs(20))
            .expect("driver answered")
            .unwrap_or_default()
    }

    /// A device-side write (a local change), on the driver's thread.
    fn set(&self, leaf: &str, value: &str) {
        let (tx, rx) = mpsc::channel();
        let (n, v) = (p(leaf), value.to_owned());
        self.driver
            .as_ref()
            .expect("running")
            .job(Box::new(move |s| {
                let _ = tx.send(s.set_internal(&n, &v).is_ok());
            }));
        assert!(rx
            .recv_timeout(Duration::from_secs(20))
            .expect("driver answered"));
    }

    /// Waits for ConnectionRequestURL to satisfy `f` and returns it.
    fn cr_url_when(&self, f: impl Fn(&str) -> bool) -> String {
        let end = Instant::now() + Duration::from_secs(20);
        loop {
            let u = self.value("ConnectionRequestURL");
            if f(&u) {
                return u;
            }
            assert!(Instant::now() < end, "ConnectionRequestURL stayed {u:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn stop(mut self) -> MemoryStore {
        self.driver.take().expect("running").stop()
    }
}

fn wait_until(what: &str, limit: Duration, f: impl Fn() -> bool) {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("timed out waiting until {what}");
}

/// `curl --digest` as the ACS's connection-request client: the HTTP status (0 = no answer).
fn curl(url: &str, user: &str, password: &str) -> u16 {
    let out = Command::new(test_peers::program("curl"))
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}"])
        .args(["--max-time", "10", "--digest", "-u"])
        .arg(format!("{user}:{password}"))
        .arg(url)
        .output()
        .expect("curl runs");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(0)
}

fn cr_sessions(acs: &FakeAcs) -> usize {
    acs.sessions()
        .iter()
        .filter(|s| {
            s.inform
                .event
                .iter()
                .any(|e| e.event_code == "6 CONNECTION REQUEST")
        })
        .count()
}

// ---------------------------------------------------------------------------------------
// The scenarios.

/// `cwmp:SessionTimeout` (TR-069 §3.4): the ACS asks for 60 s and takes 35 s to send its
/// next request; the CPE waits (the fixed 30 s of the old transport cut it off).
fn session_timeout_is_honoured<D: Driver>() {
    let gpn = Envelope {
        namespace: CwmpNamespace::V1_2,
        header: Header {
            id: Some("slow-1".into()),
            ..Header::default()
        },
        body: Body::GetRPCMethods,
    };
    let slow =
        Reply::xml(cwmp_soap::to_vec(&gpn).expect("envelope")).with_delay(Duration::from_secs(35));
    let acs = FakeAcs::builder()
        .cwmp(
            CwmpScript::new()
                .session_timeout(60)
                .session([AcsMessage::Reply(slow)]),
        )
        .start()
        .expect("acs");
    let phone = Phone::<D>::start(&acs, 1);
    wait_until("the slow session ended", Duration::from_secs(90), || {
        acs.sessions_ended() >= 1
    });
    let s = &acs.sessions()[0];
    let answered = s
        .received
        .iter()
        .flatten()
        .any(|e| e.body.name() == "GetRPCMethodsResponse");
    assert!(answered, "the CPE waited 35 s and answered: {s:?}");
    phone.stop();
}

/// Cookies (TR-069 §3.4): what the ACS sets in a session comes back on every later POST of
/// that session, and a new session starts without any (GenieACS refuses a POST without its
/// session cookie).
fn cookies_live_for_one_session<D: Driver>() {
    let acs = FakeAcs::builder()
        .cwmp(CwmpScript::new().require_cookie(true).session([
            AcsMessage::Request(Body::GetRPCMethods),
            AcsMessage::Request(Body::GetRPCMethods),
        ]))
        .start()
        .expect("acs");
    let phone = Phone::<D>::start(&acs, 2);
    wait_until("the boot session ended", Duration::from_secs(20), || {
        acs.sessions_ended() >= 1
    });
    let url = phone.cr_url_when(|u| !u.is_empty());
    assert_eq!(curl(&url, CR_USER, CR_PASS), 200);
    wait_until("the second session ended", Duration::from_secs(20), || {
        acs.sessions_ended() >= 2
    });
    let sessions = acs.sessions();
    for s in &sessions {
        assert!(s.errors.is_empty(), "{:?}", s.errors);
    }
    let reqs = acs.requests();
    let informs: Vec<usize> = reqs
        .iter()
        .enumerate()
        .filter(|(_, r)| {
            r.body_text().contains("Inform>") && !r.body_text().contains("InformResponse")
        })
        .map(|(i, _)| i)
        .collect();
    assert_eq!(informs.len(), 2, "two sessions");
    for &i in &informs {
        assert!(
            !reqs[i].has_header("cookie"),
            "a session starts with no cookie"
        );
    }
    for (k, &start) in informs.iter().enumerate() {
        let end = informs.get(k + 1).copied().unwrap_or(reqs.len());
        let want = format!("session={}", sessions[k].cookie);
        for r in &reqs[start + 1..end] {
            assert_eq!(r.header("cookie"), Some(want.as_str()), "session {k}");
        }
    }
    phone.stop();
}

/// Redirects (TR-069 §3.4): a 307 on the Inform moves the rest of the session (the same
/// Inform is sent again); the next session starts at the configured URL again; a loop ends
/// after 5 redirects; a 3xx after the Inform fails the session.
fn inform_redirect_holds_for_the_session<D: Driver>() {
    let acs = FakeAcs::builder()
        .redirect(Redirect {
            path: "/acs".into(),
            location: "/moved".into(),
            status: 307,
            times: None,
        })
        .cwmp(CwmpScript::new())
        .start()
        .expect("acs");
    let phone = Phone::<D>::start(&acs, 3);
    wait_until("the boot session ended", Duration::from_secs(20), || {
        acs.sessions_ended() >= 1
    });
    let url = phone.cr_url_when(|u| !u.is_empty());
    assert_eq!(curl(&url, CR_USER, CR_PASS), 200);
    wait_until("the second session ended", Duration::from_secs(20), || {
        acs.sessions_ended() >= 2
    });
    let paths: Vec<String> = acs.requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(
        paths,
        ["/acs", "/moved", "/moved", "/acs", "/moved", "/moved"],
        "Inform redirected, empty POST to the target; the next session starts over"
    );
    let reqs = acs.requests();
    assert_eq!(
        reqs[0].body, reqs[1].body,
        "the Inform is sent again as it was"
    );
    phone.stop();

    // A redirect loop: the first POST and five redirected ones, then the session fails.
    let looping = FakeAcs::builder()
        .redirect(Redirect {
            path: "/acs".into(),
            location: "/acs".into(),
            status: 302,
            times: None,
        })
        .start()
        .expect("acs");
    let phone = Phone::<D>::start(&looping, 4);
    wait_until("six POSTs", Duration::from_secs(20), || {
        looping.requests().len() >= 6
    });
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        looping.requests().len(),
        6,
        "at most 5 redirects per session"
    );
    phone.stop();
}

/// Connection requests (TR-069 §3.2.2): the listener serves the engine's path with the
/// store's credentials; a new password applies to the next request; disabling
/// HTTPConnectionRequestEnable empties the URL and closes the port; enabling it again serves
/// the same path; a new ACS URL keeps the listener.
fn connection_request_settings_follow_the_store<D: Driver>() {
    let acs = FakeAcs::builder()
        .cwmp(CwmpScript::new())
        .start()
        .expect("acs");
    let phone = Phone::<D>::start(&acs, 5);
    wait_until("the boot session ended", Duration::from_secs(20), || {
        acs.sessions_ended() >= 1
    });
    let boot_inform_url = acs.sessions()[0]
        .inform
        .parameter_list
        .iter()
        .find(|v| v.name == p("ConnectionRequestURL"))
        .map(|v| v.value.clone())
        .unwrap_or_default();
    let url = phone.cr_url_when(|u| !u.is_empty());
    assert_eq!(
        boot_inform_url, url,
        "the boot Inform already carries the URL"
    );
    let parsed = Url::parse_http(&url).expect("an http URL");
    assert!(parsed.path().starts_with("/cr-"), "{url}");

    assert_eq!(curl(&url, CR_USER, "wrong"), 401);
    assert_eq!(curl(&url, CR_USER, CR_PASS), 200);
    wait_until(
        "a 6 CONNECTION REQUEST session",
        Duration::from_secs(20),
        || cr_sessions(&acs) >= 1,
    );

    phone.set("ConnectionRequestPassword", "n3w-pass");
    wait_until("the new password applies", Duration::from_secs(20), || {
        curl(&url, CR_USER, "n3w-pass") == 200
    });
    assert_eq!(curl(&url, CR_USER, CR_PASS), 401, "the old one no longer");

    phone.set("HTTPConnectionRequestEnable", "false");
    phone.cr_url_when(str::is_empty);
    wait_until("the port is closed", Duration::from_secs(20), || {
        curl(&url, CR_USER, "n3w-pass") == 0
    });

    phone.set("HTTPConnectionRequestEnable", "true");
    let again = phone.cr_url_when(|u| !u.is_empty());
    assert_eq!(
        Url::parse_http(&again).expect("url").path(),
        parsed.path(),
        "the same path"
    );

    let acs2 = FakeAcs::builder()
        .cwmp(CwmpScript::new())
        .start()
        .expect("acs2");
    phone.set("URL", acs2.url());
    wait_until("a session at the new ACS", Duration::from_secs(20), || {
        acs2.sessions_ended() >= 1
    });
    let after = phone.cr_url_when(|u| !u.is_empty());
    assert_eq!(curl(&after, CR_USER, "n3w-pass"), 200);
    wait_until("the new ACS hears of it", Duration::from_secs(20), || {
        cr_sessions(&acs2) >= 1
    });
    phone.stop();
}

/// Every random choice comes from the one seed: the same seed gives the same
/// connection-request path, another seed another one.
fn one_seed_decides<D: Driver>() {
    let path_for = |seed: u64| {
        let acs = FakeAcs::builder()
            .cwmp(CwmpScript::new())
            .start()
            .expect("acs");
        let phone = Phone::<D>::start(&acs, seed);
        let url = phone.cr_url_when(|u| !u.is_empty());
        phone.stop();
        Url::parse_http(&url).expect("url").path().to_owned()
    };
    assert_eq!(path_for(77), path_for(77));
    assert_ne!(path_for(77), path_for(78));
}

macro_rules! suite {
    ($driver:ty, $modname:ident) => {
        mod $modname {
            use super::*;

            #[test]
            fn session_timeout_is_honoured() {
                super::session_timeout_is_honoured::<$driver>();
            }

            #[test]
            fn cookies_live_for_one_session() {
                super::cookies_live_for_one_session::<$driver>();
            }

            #[test]
            fn inform_redirect_holds_for_the_session() {
                super::inform_redirect_holds_for_the_session::<$driver>();
            }

            #[test]
            #[cfg_attr(
                peer_missing_curl,
                ignore = "curl not installed (apt-get install curl)"
            )]
            fn connection_request_settings_follow_the_store() {
                super::connection_request_settings_follow_the_store::<$driver>();
            }

            #[test]
            fn one_seed_decides() {
                super::one_seed_decides::<$driver>();
            }
        }
    };
}

suite!(Shipped, shipped_client);
suite!(minimal::Minimal, minimal_driver);

// ---------------------------------------------------------------------------------------
// Driver 1: the shipped `Client`.

struct Quiet;

impl<S: ParameterStore> Device<S> for Quiet {
    fn persist(&mut self, _state: &PersistentState) -> std::io::Result<()> {
        Ok(())
    }
    fn download(&mut self, _request: DownloadRequest, _handle: &ClientHandle) {}
}

struct Shipped {
    handle: ClientHandle,
    thread: JoinHandle<(Exit, MemoryStore)>,
}

impl Driver for Shipped {
    fn start(mut store: MemoryStore, seed: u64) -> Shipped {
        let config = ClientConfig {
            connection_requests: ConnectionRequestConfig {
                http_bind: Some("127.0.0.1:0".parse().expect("addr")),
                ..ConnectionRequestConfig::default()
            },
            ..ClientConfig::default()
        };
        let mut client =
            Client::new(config, PersistentState::new(), BootReason::PowerOn, seed).expect("client");
        let handle = client.handle();
        let thread = std::thread::spawn(move || {
            let exit = client.run(&mut store, &mut Quiet).expect("run");
            (exit, store)
        });
        Shipped { handle, thread }
    }

    fn job(&self, job: Job) {
        assert!(self.handle.with_store(job));
    }

    fn stop(self) -> MemoryStore {
        self.handle.shutdown();
        let (exit, store) = self.thread.join().expect("client thread");
        assert_eq!(exit, Exit::Shutdown);
        store
    }
}

// ---------------------------------------------------------------------------------------
// Driver 2: a minimal driver on `std::net` alone.

mod minimal {
    use super::{Driver, Job};
    use cwmp_connreq::{parse_request, ConnectionRequestServer, RequestError};
    use cwmp_engine::{
        Agent, AgentConfig, BootReason, HttpCredentials, Input, Now, Output, PersistentState,
    };
    use cwmp_model::{DateTime, MemoryStore, ParameterStore, Url};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::sync::mpsc::{self, Receiver, Sender};
    use std::thread::JoinHandle;
    use std::time::{Duration, Instant};

    enum Cmd {
        Job(Job),
        Changed(Vec<String>),
        Stop,
    }

    pub struct Minimal {
        tx: Sender<Cmd>,
        thread: JoinHandle<MemoryStore>,
    }

    impl Driver for Minimal {
        fn start(store: MemoryStore, seed: u64) -> Minimal {
            let (tx, rx) = mpsc::channel();
            let relay = tx.clone();
            let thread = std::thread::spawn(move || run(store, seed, &rx, relay));
            Minimal { tx, thread }
        }

        fn job(&self, job: Job) {
            self.tx.send(Cmd::Job(job)).expect("driver running");
        }

        fn stop(self) -> MemoryStore {
            let _ = self.tx.send(Cmd::Stop);
            self.thread.join().expect("driver thread")
        }
    }

    fn now() -> Now {
        Now::new(Instant::now(), DateTime::UNKNOWN)
    }

    /// The connection-request listener: a socket, the engine's path and credentials.
    struct Listener {
        socket: TcpListener,
        server: ConnectionRequestServer,
        credentials: HttpCredentials,
    }

    fn run(
        mut store: MemoryStore,
        seed: u64,
        rx: &Receiver<Cmd>,
        relay: Sender<Cmd>,
    ) -> MemoryStore {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut config = AgentConfig::default();
        config.connection_requests = true;
        let mut agent = Agent::new(
            config,
            PersistentState::new(),
            BootReason::PowerOn,
            rng.random(),
            now(),
        )
        .expect("agent");
        store.set_change_listener(Box::new(move |names: &[String]| {
            let _ = relay.send(Cmd::Changed(names.to_vec()));
        }));
        let mut conn: Option<(String, TcpStream)> = None;
        let mut listener: Option<Listener> = None;
        let mut input = Input::Timeout;
        loop {
            agent.handle_input(&mut store, now(), input);
            input = Input::Timeout;
            let mut next = None;
            while let Some(out) = agent.poll_output() {
                match out {
                    Output::SessionStarted { .. } | Output::SessionEnded { .. } => conn = None,
                    Output::SendPost {
                        url,
                        body,
                        soap_action,
                        cookie,
                        timeout,
                        ..
                    } => {
                        let header = soap_action.header_value();
                        next = Some(post(
                            &mut conn,
                            &url,
                            body.as_deref(),
                            header,
                            cookie.as_deref(),
                            timeout,
                        ));
                        break; // the response goes in before later outputs exist
                    }
                    Output::ListenConnectionRequests {
                        credentials, path, ..
                    } => {
                        let socket = match listener.take() {
                            Some(l) => l.socket,
                            None => TcpListener::bind("127.0.0.1:0").expect("bind"),
                        };
                        socket.set_nonblocking(true).expect("nonblocking");
                        let local = socket.local_addr().expect("addr");
                        let server = ConnectionRequestServer::new(&path, "cwmp");
                        listener = Some(Listener {
                            socket,
                            server,
                            credentials,
                        });
                        next = Some(Input::ConnectionRequestListening { local });
                        break;
                    }
                    Output::StopConnectionRequests => listener = None,
                    _ => {}
                }
            }
            if let Some(i) = next {
                input = i;
                continue;
            }
            // Wait for the deadline, a job or a connection request.
            let deadline = agent.poll_timeout();
            loop {
                match rx.try_recv() {
                    Ok(Cmd::Job(job)) => {
                        job(&mut store);
                        break;
                    }
                    Ok(Cmd::Changed(names)) => {
                        input = Input::ValueChanged { names };
                        break;
                    }
                    Ok(Cmd::Stop) | Err(mpsc::TryRecvError::Disconnected) => return store,
                    Err(mpsc::TryRecvError::Empty) => {}
                }
                if let Some(l) = listener.as_mut() {
                    if let Ok((stream, _)) = l.socket.accept() {
                        if serve(stream, l, &mut rng) {
                            input = Input::ConnectionRequest;
                            break;
                        }
                    }
                }
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    }

    /// One connection request (head only; a 401 keeps the connection for the answer).
    fn serve(mut stream: TcpStream, l: &mut Listener, rng: &mut ChaCha8Rng) -> bool {
        let _ = stream.set_nonblocking(false);
        let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
        let mut buf = Vec::new();
        let mut chunk = [0u8; 1024];
        for _ in 0..4 {
            let reply = loop {
                match parse_request(&buf) {
                    Err(RequestError::Incomplete) => match stream.read(&mut chunk) {
                        Ok(0) | Err(_) => return false,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    },
                    Err(e) => match l.server.handle_parse_error(&e) {
                        Some(r) => break r,
                        None => return false,
                    },
                    Ok(request) => {
                        buf.drain(..request.head_len().min(buf.len()));
                        break l.server.handle(
                            Instant::now(),
                            &request,
                            &l.credentials,
                            rng.random(),
                        );
                    }
                }
            };
            if stream.write_all(&reply.to_bytes()).is_err() || reply.accepted() || !reply.keep_alive
            {
                return reply.accepted();
            }
        }
        false
    }

    /// One POST over the session's keep-alive connection (a new one for a new origin).
    fn post(
        conn: &mut Option<(String, TcpStream)>,
        url: &str,
        body: Option<&[u8]>,
        soap_action: Option<&str>,
        cookie: Option<&str>,
        timeout: Duration,
    ) -> Input {
        match try_post(conn, url, body, soap_action, cookie, timeout) {
            Ok(i) => i,
            Err(e) => {
                *conn = None;
                Input::HttpFailed {
                    reason: e.to_string(),
                }
            }
        }
    }

    fn try_post(
        conn: &mut Option<(String, TcpStream)>,
        url: &str,
        body: Option<&[u8]>,
        soap_action: Option<&str>,
        cookie: Option<&str>,
        timeout: Duration,
    ) -> std::io::Result<Input> {
        let u = Url::parse_http(url).map_err(std::io::Error::other)?;
        if conn.as_ref().is_none_or(|(o, _)| *o != u.origin()) {
            let s = TcpStream::connect((u.host(), u.port()))?;
            *conn = Some((u.origin(), s));
        }
        let Some((_, stream)) = conn.as_mut() else {
            unreachable!()
        };
        stream.set_read_timeout(Some(timeout))?;
        let mut head = format!(
            "POST {} HTTP/1.1\r\nHost: {}:{}\r\nContent-Length: {}\r\n",
            u.request_target(),
            u.host_for_authority(),
            u.port(),
            body.map_or(0, <[u8]>::len)
        );
        if body.is_some() {
            head.push_str("Content-Type: text/xml; charset=\"utf-8\"\r\n");
            if let Some(a) = soap_action {
                head.push_str(&format!("SOAPAction: {a}\r\n"));
            }
        }
        if let Some(c) = cookie {
            head.push_str(&format!("Cookie: {c}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes())?;
        stream.write_all(body.unwrap_or_default())?;
        let mut reader = BufReader::new(&mut *stream);
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| std::io::Error::other(format!("bad status line {line:?}")))?;
        let (mut length, mut close) = (0usize, false);
        let (mut set_cookie, mut location) = (Vec::new(), None);
        loop {
            line.clear();
            reader.read_line(&mut line)?;
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            let Some((name, value)) = l.split_once(':') else {
                continue;
            };
            let value = value.trim().to_owned();
            match name.trim().to_ascii_lowercase().as_str() {
                "content-length" => length = value.parse().unwrap_or(0),
                "connection" => close = value.eq_ignore_ascii_case("close"),
                "set-cookie" => set_cookie.push(value),
                "location" => location = Some(value),
                _ => {}
            }
        }
        let mut body = vec![0u8; length.min(4 << 20)];
        reader.read_exact(&mut body)?;
        if close {
            *conn = None;
        }
        Ok(Input::HttpResponse {
            status,
            body,
            set_cookie,
            location,
        })
    }
}
