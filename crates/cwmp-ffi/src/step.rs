//! The step-wise (sans-IO) API: `cwmp_engine::Agent` driven by the embedder's own event loop.
//!
//! Time comes in with every call as a monotonic millisecond count (any origin, e.g.
//! `CLOCK_MONOTONIC`) and the wall clock in Unix seconds. The handle maps the monotonic count
//! onto `Instant`s relative to the count it was created with.

use crate::agent::name_list;
use crate::store::{
    cwmp_config, cwmp_download, cwmp_store_callbacks, setup, transfer_fault, wall_from_unix,
    CStore, ItemNames, OwnedDownload,
};
use crate::util::{c_string, copy_out, guard, opt_str_arg, str_arg, FfiError, LastError};
use crate::{CWMP_ERR_INVALID_ARGUMENT, CWMP_ERR_STATE, CWMP_OK};
use ::cwmp_engine::{Agent, Input, Now, Output, PersistentState, TransferKind};
use cwmp_model::ParameterStore;
use std::ffi::{c_char, c_int, CString};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Output kind: a session begins: use a fresh connection and cookie jar.
pub const CWMP_OUT_SESSION_STARTED: c_int = 1;
/// Output kind: POST `data` (`data_len` bytes; NULL = an empty POST, `Content-Length: 0`) to
/// the ACS at `url` (or where the Inform was redirected to), with `Content-Type: text/xml;
/// charset="utf-8"` when there is a body and a `SOAPAction:` header (empty value) when
/// `soap_action` is 1. Handle 401 (Basic/Digest with the ManagementServer credentials),
/// cookies and redirects, then feed exactly one `cwmp_engine_http_response` or
/// `cwmp_engine_http_failed` before polling again.
pub const CWMP_OUT_SEND_POST: c_int = 2;
/// Output kind: the session is over (`ok` 1 = successful): drop cookies, close.
pub const CWMP_OUT_SESSION_ENDED: c_int = 3;
/// Output kind: write `data` (`data_len` bytes, opaque) durably and atomically; give it back
/// to `cwmp_engine_new` at the next start.
pub const CWMP_OUT_PERSIST: c_int = 4;
/// Output kind: reboot now (`command_key`); afterwards create a new engine with
/// `CWMP_BOOT_POWER_ON` and the last persisted state.
pub const CWMP_OUT_REBOOT: c_int = 5;
/// Output kind: factory reset now. The parameter store is already reset (through `commit`);
/// reset whatever else the device keeps, then reboot.
pub const CWMP_OUT_FACTORY_RESET: c_int = 6;
/// Output kind: perform `download`, then feed `cwmp_engine_transfer_complete`.
pub const CWMP_OUT_DOWNLOAD: c_int = 7;
/// Output kind: send `data` as one datagram to `address` (`"ip:port"`) from the UDP
/// connection-request socket (STUN).
pub const CWMP_OUT_SEND_DATAGRAM: c_int = 8;
/// Output kind: resolve host `address`, port `port`, and feed `cwmp_engine_stun_resolved`.
pub const CWMP_OUT_RESOLVE_STUN: c_int = 9;

/// One output of the engine (filled by `cwmp_engine_poll_output`). Only the fields its
/// `kind` names are set; the others are 0 / NULL. Pointers are owned by the engine and stay
/// valid until the next call on the same handle.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct cwmp_output {
    /// One of `CWMP_OUT_*`.
    pub kind: c_int,
    /// SESSION_STARTED, SEND_POST, SESSION_ENDED: the session's number.
    pub session_id: u64,
    /// SESSION_ENDED: 1 when the session succeeded.
    pub ok: c_int,
    /// SEND_POST: where to POST (the ACS URL, or where the engine followed the Inform's redirect).
    pub url: *const c_char,
    /// SEND_POST: the body (NULL = empty POST); PERSIST: the state; SEND_DATAGRAM: the payload.
    pub data: *const u8,
    /// Length of `data` in bytes.
    pub data_len: usize,
    /// SEND_POST: 1 = send the header `SOAPAction:` with an empty value, 0 = no header.
    pub soap_action: c_int,
    /// REBOOT: the Reboot's CommandKey.
    pub command_key: *const c_char,
    /// DOWNLOAD: what to fetch.
    pub download: cwmp_download,
    /// SEND_DATAGRAM: destination `"ip:port"`; RESOLVE_STUN: the host name.
    pub address: *const c_char,
    /// RESOLVE_STUN: the port.
    pub port: u16,
    /// SEND_POST: how long to wait for the response, in milliseconds (30 s, or what the ACS
    /// asked for with `cwmp:SessionTimeout`).
    pub timeout_ms: u64,
    /// SEND_POST: the `Cookie` header value to send, NULL for none.
    pub cookie: *const c_char,
    /// SEND_POST: the ACS user name for a 401 challenge, NULL when none is configured.
    pub username: *const c_char,
    /// SEND_POST: the ACS password (secret: never log it), NULL with `username`.
    pub password: *const c_char,
}

impl cwmp_output {
    fn empty() -> cwmp_output {
        cwmp_output {
            kind: 0,
            session_id: 0,
            ok: 0,
            url: std::ptr::null(),
            data: std::ptr::null(),
            data_len: 0,
            soap_action: 0,
            command_key: std::ptr::null(),
            download: cwmp_download {
                command_key: std::ptr::null(),
                file_type: std::ptr::null(),
                url: std::ptr::null(),
                username: std::ptr::null(),
                password: std::ptr::null(),
                file_size: 0,
                target_file_name: std::ptr::null(),
                resumed: 0,
            },
            address: std::ptr::null(),
            port: 0,
            timeout_ms: 0,
            cookie: std::ptr::null(),
            username: std::ptr::null(),
            password: std::ptr::null(),
        }
    }
}

/// What the last handed-out output points into.
#[derive(Default)]
struct Current {
    strings: Vec<CString>,
    data: Vec<u8>,
    download: Option<OwnedDownload>,
}

/// A step-wise engine (opaque). Not thread-safe: use it from one thread at a time.
pub struct cwmp_engine {
    agent: Agent,
    store: CStore,
    names: ItemNames,
    /// Names the store's change listener reported (device-side writes made by the engine).
    changes: Arc<Mutex<Vec<String>>>,
    base: Instant,
    base_ms: u64,
    current: Current,
    last_error: LastError,
}

impl cwmp_engine {
    fn now(&self, mono_ms: u64, wall_unix: i64) -> Now {
        let since = Duration::from_millis(mono_ms.saturating_sub(self.base_ms));
        let mono = self.base.checked_add(since).unwrap_or(self.base);
        Now::new(mono, wall_from_unix(wall_unix))
    }

    fn feed(&mut self, mono_ms: u64, wall_unix: i64, input: Input) {
        self.current = Current::default();
        let now = self.now(mono_ms, wall_unix);
        self.agent.handle_input(&mut self.store, now, input);
        // Changes the engine itself wrote (STUN's addresses) go back in, bounded.
        for _ in 0..8 {
            let names =
                std::mem::take(&mut *self.changes.lock().unwrap_or_else(|p| p.into_inner()));
            if names.is_empty() {
                break;
            }
            self.agent
                .handle_input(&mut self.store, now, Input::ValueChanged { names });
        }
    }
}

/// Creates a step-wise engine. `state`/`state_len`: the blob of the last `CWMP_OUT_PERSIST`
/// (NULL/0 for a factory-new device). `mono_ms`: the monotonic clock now (milliseconds, any
/// origin, never going back); `wall_unix`: the wall clock in Unix seconds (0 = not known yet).
/// The config's socket fields are ignored: the embedder owns every socket.
///
/// Returns `CWMP_OK` with the handle in `*out`, or a negative code with `*out` = NULL and the
/// reason in `err` (`err_size` bytes, may be NULL). Ownership: everything is read during the
/// call; the store callbacks and `user` are kept until `cwmp_engine_free`.
/// Then: call `cwmp_engine_timeout` at once (the engine asks for it with its first deadline).
///
/// # Safety
/// Pointers NULL or valid; `state` has `state_len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn cwmp_engine_new(
    config: *const cwmp_config,
    store: *const cwmp_store_callbacks,
    state: *const u8,
    state_len: usize,
    mono_ms: u64,
    wall_unix: i64,
    out: *mut *mut cwmp_engine,
    err: *mut c_char,
    err_size: usize,
) -> c_int {
    guard(|| {
        if out.is_null() {
            return CWMP_ERR_INVALID_ARGUMENT;
        }
        // SAFETY: `out` is writable (caller).
        unsafe { *out = std::ptr::null_mut() };
        let blob: &[u8] = if state.is_null() || state_len == 0 {
            &[]
        } else {
            // SAFETY: `state` has `state_len` readable bytes for the call (caller).
            unsafe { std::slice::from_raw_parts(state, state_len) }
        };
        match new_engine(config, store, blob, mono_ms, wall_unix) {
            Ok(e) => {
                // SAFETY: as above.
                unsafe { *out = Box::into_raw(Box::new(e)) };
                CWMP_OK
            }
            Err(e) => {
                // SAFETY: `err` is NULL or has `err_size` writable bytes (caller).
                unsafe { copy_out(&e.message, err, err_size) };
                e.code
            }
        }
    })
}

fn new_engine(
    config: *const cwmp_config,
    store: *const cwmp_store_callbacks,
    blob: &[u8],
    mono_ms: u64,
    wall_unix: i64,
) -> Result<cwmp_engine, FfiError> {
    let mut s = setup(config, store)?;
    let state: PersistentState = if blob.is_empty() {
        PersistentState::new()
    } else {
        serde_json::from_slice(blob).map_err(|e| {
            FfiError::new(
                CWMP_ERR_STATE,
                format!("the persisted state is unreadable: {e}"),
            )
        })?
    };
    let seed = if s.seed == 0 {
        cwmp_client::os_seed()
    } else {
        s.seed
    };
    let base = Instant::now();
    let now = Now::new(base, wall_from_unix(wall_unix));
    let agent = Agent::new(s.agent, state, s.boot, seed, now).map_err(|e| match e {
        ::cwmp_engine::Error::InvalidConfig(m) => FfiError::new(crate::CWMP_ERR_CONFIG, m),
        e => FfiError::new(CWMP_ERR_STATE, e.to_string()),
    })?;
    let changes: Arc<Mutex<Vec<String>>> = Arc::default();
    let sink = Arc::clone(&changes);
    s.store
        .set_change_listener(Box::new(move |names: &[String]| {
            let mut v = sink.lock().unwrap_or_else(|p| p.into_inner());
            if v.len() < 4096 {
                v.extend_from_slice(names);
            }
        }));
    Ok(cwmp_engine {
        agent,
        store: s.store,
        names: s.names,
        changes,
        base,
        base_ms: mono_ms,
        current: Current::default(),
        last_error: LastError::default(),
    })
}

/// Borrows the engine mutably.
///
/// # Safety
/// `e` is NULL or a live handle, not used by another thread during the call.
unsafe fn engine_mut<'a>(e: *mut cwmp_engine) -> Option<&'a mut cwmp_engine> {
    // SAFETY: the caller's guarantee.
    unsafe { e.as_mut() }
}

/// Runs one input: the shared shape of every `cwmp_engine_<input>` function.
///
/// # Safety
/// As [`engine_mut`].
unsafe fn with_engine(
    e: *mut cwmp_engine,
    f: impl FnOnce(&mut cwmp_engine) -> Result<c_int, FfiError>,
) -> c_int {
    guard(|| {
        // SAFETY: the caller's guarantee, passed on.
        let Some(e) = (unsafe { engine_mut(e) }) else {
            return CWMP_ERR_INVALID_ARGUMENT;
        };
        let r = f(e);
        e.last_error.status(r)
    })
}

/// Feed one input to a live engine (the body of every `cwmp_engine_*` input call).
///
/// # Safety
/// `engine` is a live handle used by one thread at a time.
unsafe fn feed_input(
    engine: *mut cwmp_engine,
    mono_ms: u64,
    wall_unix: i64,
    input: Input,
) -> c_int {
    let f = move |e: &mut cwmp_engine| -> Result<c_int, FfiError> {
        e.feed(mono_ms, wall_unix, input);
        Ok(CWMP_OK)
    };
    // SAFETY: the caller's guarantee (a live handle, one thread), passed on.
    unsafe { with_engine(engine, f) }
}

/// The deadline from `cwmp_engine_next_deadline` passed (or the loop woke up for any reason:
/// an early call does nothing harmful). Then drain the outputs.
///
/// # Safety
/// `engine` is a live handle used by one thread at a time (all `cwmp_engine_*` functions).
#[no_mangle]
pub unsafe extern "C" fn cwmp_engine_timeout(
    engine: *mut cwmp_engine,
    mono_ms: u64,
    wall_unix: i64,
) -> c_int {
    // SAFETY: the caller's guarantee (a live handle, one thread), passed on.
    unsafe { feed_input(engine, mono_ms, wall_unix, Input::Timeout) }
}

/// The final HTTP response to the last SEND_POST (after the 401 handshake): its status and
/// decoded body (`body_len` bytes; NULL/0 for none). Read during the call. Without headers:
/// the engine keeps no cookie and cannot follow a redirect; pass those with
/// [`cwmp_engine_http_response_ex`].
///
/// # Safety
/// `engine` live; `body` NULL or `body_len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn cwmp_engine_http_response(
    engine: *mut cwmp_engine,
    mono_ms: u64,
    wall_unix: i64,
    status: u16,
    body: *const u8,
    body_len: usize,
) -> c_int {
    // SAFETY: the caller's guarantees, passed on; no headers.
    unsafe {
        cwmp_engine_http_response_ex(
            engine,
            mono_ms,
            wall_unix,
            status,
            body,
            body_len,
            std::ptr::null(),
            0,
            std::ptr::null(),
        )
    }
}

/// [`cwmp_engine_http_response`] with the response's headers the engine needs:
/// `set_cookie` (NULL or `set_cookie_count` C strings: every `Set-Cookie` value) and
/// `location` (NULL or the `Location` value). Redirects (3xx) are passed in as they are:
/// the engine follows them. Everything is read during the call.
///
/// # Safety
/// `engine` live; `body` NULL or `body_len` readable bytes; `set_cookie` NULL or
/// `set_cookie_count` pointers to NUL-terminated strings (each NULL or valid); `location`
/// NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn cwmp_engine_http_response_ex(
    engine: *mut cwmp_engine,
    mono_ms: u64,
    wall_unix: i64,
    status: u16,
    body: *const u8,
    body_len: usize,
    set_cookie: *const *const c_char,
    set_cookie_count: usize,
    location: *const c_char,
) -> c_int {
    let body = if body.is_null() || body_len == 0 {
        Vec::new()
    } else {
        // SAFETY: `body` has `body_len` readable bytes for the call (caller).
        unsafe { std::slice::from_raw_parts(body, body_len) }.to_vec()
    };
    let cookies: Vec<String> = if set_cookie.is_null() {
        Vec::new()
    } else {
        // SAFETY: `set_cookie` has `set_cookie_count` readable pointers (caller).
        let ptrs = unsafe { std::slice::from_raw_parts(set_cookie, set_cookie_count) };
        ptrs.iter()
            // SAFETY: each pointer is NULL or a NUL-terminated string (caller).
            .filter_map(|&p| unsafe { opt_str(p) })
            .collect()
    };
    // SAFETY: NULL or a NUL-terminated string (caller).
    let location = unsafe { opt_str(location) };
    let f = |e: &mut cwmp_engine| -> Result<c_int, FfiError> {
        e.feed(
            mono_ms,
            wall_unix,
            Input::HttpResponse {
                status,
                body,
                set_cookie: cookies,
                location,
            },
        );
        Ok(CWMP_OK)
    };
    // SAFETY: the caller's guarantee (a live handle, one thread), passed on.
    unsafe { with_engine(engine, f) }
}

/// A C string as an owned Rust string (lossy UTF-8); `None` for NULL.
///
/// # Safety
/// `p` is NULL or a NUL-terminated string readable for the call.
unsafe fn opt_str(p: *const c_char) -> Option<String> {
    if p.is_null() {
        return None;
    }
    // SAFETY: non-NULL and NUL-terminated (caller).
    Some(
        unsafe { std::ffi::CStr::from_ptr(p) }
            .to_string_lossy()
            .into_owned(),
    )
}

/// The last SEND_POST got no usable response (connect/DNS/TLS failure, connection closed,
/// timeout, 401 after credentials): the session fails. `reason` (NULL allowed) is for logs
/// and must not contain secrets.
///
/// # Safety
/// `engine` live; `reason` NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn cwmp_engine_http_failed(
    engine: *mut cwmp_engine,
    mono_ms: u64,
    wall_unix: i64,
    reason: *const c_char,
) -> c_int {
    let f = |e: &mut cwmp_engine| -> Result<c_int, FfiError> {
        // SAFETY: NULL or NUL-terminated (caller).
        let reason = unsafe { opt_str_arg(reason, "reason") }?.unwrap_or("HTTP failure");
        let reason = reason.to_owned();
        e.feed(mono_ms, wall_unix, Input::HttpFailed { reason });
        Ok(CWMP_OK)
    };
    // SAFETY: the caller's guarantee (a live handle, one thread), passed on.
    unsafe { with_engine(engine, f) }
}

/// An authenticated connection request arrived (the embedder checked Digest and answered
/// 200): a session with `6 CONNECTION REQUEST` follows.
///
/// # Safety
/// `engine` live.
#[no_mangle]
pub unsafe extern "C" fn cwmp_engine_connection_request(
    engine: *mut cwmp_engine,
    mono_ms: u64,
    wall_unix: i64,
) -> c_int {
    // SAFETY: the caller's guarantee (a live handle, one thread), passed on.
    unsafe { feed_input(engine, mono_ms, wall_unix, Input::ConnectionRequest) }
}

/// Values the device changed itself: `count` item names or full parameter names (see
/// `cwmp_agent_value_changed`). Write the new values to your storage first.
///
/// # Safety
/// `engine` live; `names` points to `count` NUL-terminated strings.
#[no_mangle]
pub unsafe extern "C" fn cwmp_engine_value_changed(
    engine: *mut cwmp_engine,
    mono_ms: u64,
    wall_unix: i64,
    names: *const *const c_char,
    count: usize,
) -> c_int {
    let f = |e: &mut cwmp_engine| -> Result<c_int, FfiError> {
        // SAFETY: `count` NUL-terminated strings (caller).
        let list = unsafe { name_list(names, count) }?;
        let names = e.names.expand(&list);
        e.feed(mono_ms, wall_unix, Input::ValueChanged { names });
        Ok(CWMP_OK)
    };
    // SAFETY: the caller's guarantee (a live handle, one thread), passed on.
    unsafe { with_engine(engine, f) }
}

/// A DOWNLOAD finished: as `cwmp_agent_transfer_complete`.
///
/// # Safety
/// `engine` live; strings NUL-terminated (`fault_string` may be NULL).
#[no_mangle]
pub unsafe extern "C" fn cwmp_engine_transfer_complete(
    engine: *mut cwmp_engine,
    mono_ms: u64,
    wall_unix: i64,
    command_key: *const c_char,
    fault_code: u32,
    fault_string: *const c_char,
    start_unix: i64,
    complete_unix: i64,
) -> c_int {
    let f = |e: &mut cwmp_engine| -> Result<c_int, FfiError> {
        // SAFETY: NUL-terminated (caller).
        let key = unsafe { str_arg(command_key, "command_key") }?.to_owned();
        // SAFETY: NULL or NUL-terminated (caller).
        let text = unsafe { opt_str_arg(fault_string, "fault_string") }?;
        let input = Input::TransferComplete {
            command_key: key,
            fault: transfer_fault(fault_code, text),
            start: wall_from_unix(start_unix),
            complete: wall_from_unix(complete_unix),
            kind: TransferKind::Download,
        };
        e.feed(mono_ms, wall_unix, input);
        Ok(CWMP_OK)
    };
    // SAFETY: the caller's guarantee (a live handle, one thread), passed on.
    unsafe { with_engine(engine, f) }
}

fn parse_addr(text: &str, what: &str) -> Result<SocketAddr, FfiError> {
    text.parse()
        .map_err(|_| FfiError::invalid(format!("{what} `{text}` is not an IP:port address")))
}

/// The UDP connection-request socket is bound (STUN and UDP connection requests, optional):
/// `local` is `"ip:port"` of the interface towards the ACS (not 0.0.0.0).
///
/// # Safety
/// `engine` live; `local` NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn cwmp_engine_udp_bound(
    engine: *mut cwmp_engine,
    mono_ms: u64,
    wall_unix: i64,
    local: *const c_char,
) -> c_int {
    let f = |e: &mut cwmp_engine| -> Result<c_int, FfiError> {
        // SAFETY: NUL-terminated (caller).
        let local = parse_addr(unsafe { str_arg(local, "local") }?, "local")?;
        e.feed(mono_ms, wall_unix, Input::UdpBound { local });
        Ok(CWMP_OK)
    };
    // SAFETY: the caller's guarantee (a live handle, one thread), passed on.
    unsafe { with_engine(engine, f) }
}

/// A datagram arrived on the UDP connection-request socket (`from` = `"ip:port"`).
///
/// # Safety
/// `engine` live; `from` NUL-terminated; `payload` has `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn cwmp_engine_datagram(
    engine: *mut cwmp_engine,
    mono_ms: u64,
    wall_unix: i64,
    from: *const c_char,
    payload: *const u8,
    len: usize,
) -> c_int {
    let f = |e: &mut cwmp_engine| -> Result<c_int, FfiError> {
        // SAFETY: NUL-terminated (caller).
        let from = parse_addr(unsafe { str_arg(from, "from") }?, "from")?;
        let payload = if payload.is_null() {
            Vec::new()
        } else {
            // SAFETY: `len` readable bytes (caller); at most 2048 are kept.
            unsafe { std::slice::from_raw_parts(payload, len.min(2048)) }.to_vec()
        };
        e.feed(mono_ms, wall_unix, Input::Datagram { from, payload });
        Ok(CWMP_OK)
    };
    // SAFETY: the caller's guarantee (a live handle, one thread), passed on.
    unsafe { with_engine(engine, f) }
}

/// The answer to RESOLVE_STUN: `"ip:port"`, or NULL when resolution failed.
///
/// # Safety
/// `engine` live; `addr` NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn cwmp_engine_stun_resolved(
    engine: *mut cwmp_engine,
    mono_ms: u64,
    wall_unix: i64,
    addr: *const c_char,
) -> c_int {
    let f = |e: &mut cwmp_engine| -> Result<c_int, FfiError> {
        // SAFETY: NULL or NUL-terminated (caller).
        let addr = match unsafe { opt_str_arg(addr, "addr") }? {
            Some(a) => Some(parse_addr(a, "addr")?),
            None => None,
        };
        e.feed(mono_ms, wall_unix, Input::StunServerResolved { addr });
        Ok(CWMP_OK)
    };
    // SAFETY: the caller's guarantee (a live handle, one thread), passed on.
    unsafe { with_engine(engine, f) }
}

/// Takes the next output into `*out`. Returns 1 when there was one, 0 when drained (the
/// drain rule: after every input, poll until 0; after a SEND_POST, feed its response first).
/// The pointers in `*out` stay valid until the next call on this handle.
///
/// # Safety
/// `engine` live; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn cwmp_engine_poll_output(
    engine: *mut cwmp_engine,
    out: *mut cwmp_output,
) -> c_int {
    guard(|| {
        // SAFETY: the caller's guarantee.
        let Some(e) = (unsafe { engine_mut(engine) }) else {
            return CWMP_ERR_INVALID_ARGUMENT;
        };
        if out.is_null() {
            return CWMP_ERR_INVALID_ARGUMENT;
        }
        e.current = Current::default();
        let mut o = cwmp_output::empty();
        let found = loop {
            let Some(output) = e.agent.poll_output() else {
                break false;
            };
            if fill(e, output, &mut o) {
                break true;
            }
        };
        // SAFETY: `out` is writable (caller); `o`'s pointers point into `e.current`, which
        // lives until the next call on this handle.
        unsafe { *out = o };
        c_int::from(found)
    })
}

/// Converts one output; `false` for outputs the C side never sees (traces, unknown kinds).
fn fill(e: &mut cwmp_engine, output: Output, o: &mut cwmp_output) -> bool {
    let cur = &mut e.current;
    match output {
        Output::SessionStarted { session_id } => {
            o.kind = CWMP_OUT_SESSION_STARTED;
            o.session_id = session_id;
        }
        Output::SendPost {
            url,
            body,
            soap_action,
            session_id,
            cookie,
            timeout,
            credentials,
            ..
        } => {
            o.kind = CWMP_OUT_SEND_POST;
            o.session_id = session_id;
            o.timeout_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
            cur.strings.push(c_string(&url));
            o.url = cur.strings[0].as_ptr();
            if let Some(c) = cookie {
                cur.strings.push(c_string(&c));
                o.cookie = cur.strings[cur.strings.len() - 1].as_ptr();
            }
            if let Some(c) = credentials {
                cur.strings.push(c_string(&c.username));
                o.username = cur.strings[cur.strings.len() - 1].as_ptr();
                cur.strings.push(c_string(c.password.expose()));
                o.password = cur.strings[cur.strings.len() - 1].as_ptr();
            }
            if let Some(b) = body {
                cur.data = b;
                o.data = cur.data.as_ptr();
                o.data_len = cur.data.len();
            }
            o.soap_action = c_int::from(soap_action.header_value().is_some());
        }
        Output::SessionEnded { session_id, ok } => {
            o.kind = CWMP_OUT_SESSION_ENDED;
            o.session_id = session_id;
            o.ok = c_int::from(ok);
        }
        Output::Persist(state) => {
            o.kind = CWMP_OUT_PERSIST;
            match serde_json::to_vec(&state) {
                Ok(b) => cur.data = b,
                Err(err) => {
                    log::error!("serializing the engine state failed: {err}");
                    return false;
                }
            }
            o.data = cur.data.as_ptr();
            o.data_len = cur.data.len();
        }
        Output::Reboot { command_key } => {
            o.kind = CWMP_OUT_REBOOT;
            cur.strings.push(c_string(&command_key));
            o.command_key = cur.strings[0].as_ptr();
        }
        Output::FactoryReset => {
            if let Err(f) = e.store.factory_reset() {
                log::error!("factory reset of the parameter store failed: {f:?}");
            }
            o.kind = CWMP_OUT_FACTORY_RESET;
        }
        Output::Download(req) => {
            o.kind = CWMP_OUT_DOWNLOAD;
            let d = OwnedDownload::new(&req);
            o.download = d.raw;
            cur.download = Some(d);
        }
        Output::SendDatagram { to, payload } => {
            o.kind = CWMP_OUT_SEND_DATAGRAM;
            cur.strings.push(c_string(&to.to_string()));
            o.address = cur.strings[0].as_ptr();
            cur.data = payload;
            o.data = cur.data.as_ptr();
            o.data_len = cur.data.len();
        }
        Output::ResolveStunServer { host, port } => {
            o.kind = CWMP_OUT_RESOLVE_STUN;
            cur.strings.push(c_string(&host));
            o.address = cur.strings[0].as_ptr();
            o.port = port;
        }
        _ => return false,
    }
    true
}

/// The engine's next deadline: returns 1 and sets `*mono_ms` (same clock as the inputs;
/// call `cwmp_engine_timeout` then, or earlier), or 0 when there is none (wait for I/O only).
///
/// # Safety
/// `engine` live; `mono_ms` writable.
#[no_mangle]
pub unsafe extern "C" fn cwmp_engine_next_deadline(
    engine: *mut cwmp_engine,
    mono_ms: *mut u64,
) -> c_int {
    guard(|| {
        // SAFETY: the caller's guarantee.
        let Some(e) = (unsafe { engine_mut(engine) }) else {
            return CWMP_ERR_INVALID_ARGUMENT;
        };
        if mono_ms.is_null() {
            return CWMP_ERR_INVALID_ARGUMENT;
        }
        match e.agent.poll_timeout() {
            Some(at) => {
                let d = at.saturating_duration_since(e.base);
                // Rounded up, so that a loop waking at the deadline finds it passed.
                let ms = d.as_nanos().div_ceil(1_000_000);
                let ms = e
                    .base_ms
                    .saturating_add(u64::try_from(ms).unwrap_or(u64::MAX));
                // SAFETY: `mono_ms` is writable (caller).
                unsafe { *mono_ms = ms };
                1
            }
            None => 0,
        }
    })
}

/// As `cwmp_agent_last_error`, for an engine.
///
/// # Safety
/// `engine` live; `buf` NULL or `size` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn cwmp_engine_last_error(
    engine: *const cwmp_engine,
    buf: *mut c_char,
    size: usize,
) -> usize {
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        // SAFETY: the caller's guarantee; shared access only.
        let text = match unsafe { engine.as_ref() } {
            Some(e) => e.last_error.get(),
            None => "engine is NULL".to_owned(),
        };
        // SAFETY: `buf` is NULL or has `size` writable bytes (caller).
        unsafe { copy_out(&text, buf, size) }
    }));
    r.unwrap_or(0)
}

/// Releases the engine (NULL is ignored); pointers from `cwmp_engine_poll_output` die with it.
///
/// # Safety
/// `engine` NULL or a handle from `cwmp_engine_new`, not freed before.
#[no_mangle]
pub unsafe extern "C" fn cwmp_engine_free(engine: *mut cwmp_engine) {
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        if !engine.is_null() {
            // SAFETY: made by `Box::into_raw` in `cwmp_engine_new`, freed once (caller).
            drop(unsafe { Box::from_raw(engine) });
        }
    }));
}
