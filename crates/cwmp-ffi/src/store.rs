//! What both ways of running share: the configuration, the store over the embedder's
//! callbacks (a `SchemaStore` over an `ItemBackend`, so every CWMP rule stays in the
//! library), and the mapping from item names to parameter names.

use crate::util::{c_string, opt_str_arg, str_arg, FfiError};
use crate::{CWMP_BOOT_AGENT_RESTART, CWMP_BOOT_FACTORY_RESET, CWMP_BOOT_POWER_ON, CWMP_REFUSED};
use crate::{CWMP_ERR_CONFIG, CWMP_ERR_INVALID_ARGUMENT, CWMP_FOUND, CWMP_NOT_FOUND, CWMP_OK};
use cwmp_engine::{AgentConfig, BootReason};
use cwmp_model::{BackendError, Fault, FaultCode, ItemBackend, ItemBatch, LiveValues, SchemaStore};
use deskphone_datamodel::DeskPhoneModel;
use std::collections::HashMap;
use std::ffi::{c_char, c_int, c_void, CString};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// The largest value (or state blob) the library reads from a callback: 1 MiB. A larger one
/// reads as absent and is logged.
pub const CWMP_MAX_VALUE_LEN: usize = 1 << 20;

/// The agent's configuration. Zero-initialise it (`cwmp_config cfg = {0};`) and set what you
/// need: every zero or NULL field means the documented default.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct cwmp_config {
    /// Required: the device's parameter table, TOML text in the library's table format
    /// (`format = 1`, `[[object]]` and `[[param]]` rows; see examples/c/phone_table.toml).
    /// Copied during the call.
    pub table_toml: *const c_char,
    /// The data-model root, `"Device."` (default) or `"InternetGatewayDevice."`.
    pub root: *const c_char,
    /// Blocking agent only: where the library listens for HTTP connection requests itself,
    /// e.g. `"0.0.0.0:7547"` (Digest-checked with ConnectionRequestUsername / Password; it
    /// writes ConnectionRequestURL). NULL = the embedder owns that socket and calls
    /// `cwmp_agent_connection_request`.
    pub connection_request_bind: *const c_char,
    /// Blocking agent only: the UDP socket for STUN and UDP connection requests, e.g.
    /// `"0.0.0.0:7547"`. NULL = none.
    pub udp_bind: *const c_char,
    /// Seconds to wait for each ACS response (0 = 30, the minimum CWMP allows).
    pub response_timeout_secs: u32,
    /// Seed for the agent's random choices (retry waits, Digest cnonces). 0 = drawn from the
    /// operating system (do that outside tests).
    pub seed: u64,
    /// Why the device is starting: `CWMP_BOOT_POWER_ON` (0), `CWMP_BOOT_FACTORY_RESET`,
    /// `CWMP_BOOT_AGENT_RESTART`.
    pub boot_reason: c_int,
}

/// One entry of a batch to commit: `value` NULL means "remove the key" (back to the default).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct cwmp_item {
    /// The key (an item name of the table, or a library key starting with `cwmp:`).
    pub key: *const c_char,
    /// The new value (canonical text: `true`/`false`, decimal numbers), or NULL to remove.
    pub value: *const c_char,
}

/// Reads one stored value (see `cwmp_store_callbacks`).
pub type cwmp_get_fn = Option<
    unsafe extern "C" fn(
        user: *mut c_void,
        key: *const c_char,
        buf: *mut c_char,
        buf_size: usize,
        value_len: *mut usize,
    ) -> c_int,
>;

/// Validates and commits a batch all-or-nothing (see `cwmp_store_callbacks`).
pub type cwmp_commit_fn = Option<
    unsafe extern "C" fn(
        user: *mut c_void,
        items: *const cwmp_item,
        count: usize,
        refusals: *mut cwmp_refusals,
    ) -> c_int,
>;

/// The embedder's configuration system, as the library reads and writes it.
///
/// Keys are the `item` names of the table's `source = "item"` rows, library keys starting
/// with `cwmp:` (notification attributes, `internal` parameters, the ParameterKey: store them
/// as opaque strings, in the same storage and with the same atomicity), and the full names of
/// `source = "live"` parameters (read only: the device computes them, e.g. UpTime).
///
/// Threads: the callbacks are called only on the thread inside `cwmp_agent_new` /
/// `cwmp_agent_run` / `cwmp_engine_*`, never concurrently, and must not call back into the
/// same handle (except `cwmp_refuse`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct cwmp_store_callbacks {
    /// Passed back to every callback.
    pub user: *mut c_void,
    /// Required. Look up `key`. Return `CWMP_NOT_FOUND` when it has no value (the table's
    /// default applies), or `CWMP_FOUND` after setting `*value_len` to the value's length in
    /// bytes (no NUL) and, when `*value_len < buf_size`, copying the value into `buf` (a NUL
    /// after it is allowed, not needed). When it does not fit, the library calls again with a
    /// buffer of `*value_len + 1` bytes. A negative return is an error (logged; treated as
    /// not found). `key` is valid during the call only.
    pub get: cwmp_get_fn,
    /// Required. Check and apply `count` entries atomically and durably (after `CWMP_OK`, a
    /// crash at any moment must leave all of them or none). Return `CWMP_OK` when applied;
    /// `CWMP_REFUSED` after calling `cwmp_refuse(refusals, key, fault, text)` for each value
    /// the device will not take (nothing applied: the ACS gets a fault per parameter); a
    /// negative value when storage failed (nothing applied: the ACS gets 9002). The array and
    /// its strings are valid during the call only.
    pub commit: cwmp_commit_fn,
}

/// The refusals of one commit (filled by `cwmp_refuse`; owned by the library).
#[derive(Debug, Default)]
pub struct cwmp_refusals {
    list: Vec<(String, Fault)>,
}

/// Inside a commit callback: refuse the value of `key` with a CWMP fault code (9007 "Invalid
/// parameter value" is the usual one; 9001–9019 or a vendor code 9800–9899) and a short
/// text for the ACS (NULL = the code's standard text; never put the value in it, it may be
/// a secret). Returns `CWMP_OK`, or `CWMP_ERR_INVALID_ARGUMENT`.
///
/// # Safety
/// `refusals` is the pointer the commit callback received, used during that callback;
/// `key` and `message` (or NULL) are NUL-terminated strings.
#[no_mangle]
pub unsafe extern "C" fn cwmp_refuse(
    refusals: *mut cwmp_refusals,
    key: *const c_char,
    fault_code: u32,
    message: *const c_char,
) -> c_int {
    crate::util::guard(|| {
        // SAFETY: the caller passes the live refusals of the running commit callback; the
        // library holds no other reference to it while the callback runs.
        let Some(r) = (unsafe { refusals.as_mut() }) else {
            return CWMP_ERR_INVALID_ARGUMENT;
        };
        // SAFETY: NUL-terminated strings valid during this call (caller).
        let (key, message) = match unsafe { (str_arg(key, "key"), opt_str_arg(message, "message")) }
        {
            (Ok(k), Ok(m)) => (k, m),
            _ => return CWMP_ERR_INVALID_ARGUMENT,
        };
        let code = FaultCode::from_code(fault_code);
        let fault = match message {
            Some(m) => Fault::with_message(code, m),
            None => Fault::new(code),
        };
        if r.list.len() < 10_000 {
            r.list.push((key.to_owned(), fault));
        }
        CWMP_OK
    })
}

/// The store callbacks, shareable with the `Send` store.
#[derive(Clone, Copy)]
pub(crate) struct StoreCallbacks {
    user: *mut c_void,
    get: unsafe extern "C" fn(*mut c_void, *const c_char, *mut c_char, usize, *mut usize) -> c_int,
    commit: unsafe extern "C" fn(*mut c_void, *const cwmp_item, usize, *mut cwmp_refusals) -> c_int,
}

// SAFETY: the header's contract for `cwmp_store_callbacks`: the embedder's callbacks and
// `user` may be called from the thread that runs the agent, which may differ from the one
// that created it; the library calls them from one thread at a time (the store lives inside
// the handle, used only by `cwmp_agent_run` under a mutex or by `cwmp_engine_*`, which are
// not thread-safe by contract).
unsafe impl Send for StoreCallbacks {}
// SAFETY: as above: no method of this type is ever called from two threads at once.
unsafe impl Sync for StoreCallbacks {}

/// Reads a value through a `(buf, size, &len) -> rc` callback: the protocol of `get` and of
/// `load_state`. `None` when not found, on error or when larger than [`CWMP_MAX_VALUE_LEN`].
pub(crate) fn read_via(
    what: &str,
    mut call: impl FnMut(*mut c_char, usize, *mut usize) -> c_int,
) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; 256];
    for _ in 0..3 {
        let mut len = 0usize;
        let rc = call(buf.as_mut_ptr().cast::<c_char>(), buf.len(), &mut len);
        match rc {
            CWMP_NOT_FOUND => return None,
            CWMP_FOUND => {}
            rc => {
                log::warn!("{what}: callback returned {rc}; treated as no value");
                return None;
            }
        }
        if len < buf.len() {
            buf.truncate(len);
            return Some(buf);
        }
        if len > CWMP_MAX_VALUE_LEN {
            log::warn!("{what}: value of {len} bytes is over the limit; treated as no value");
            return None;
        }
        buf = vec![0u8; len + 1];
    }
    log::warn!("{what}: the value kept growing between calls; treated as no value");
    None
}

impl StoreCallbacks {
    pub(crate) fn from_c(cb: *const cwmp_store_callbacks) -> Result<StoreCallbacks, FfiError> {
        // SAFETY: the caller of the public entry point passes a valid struct or NULL; it is
        // read (copied) here only.
        let cb =
            unsafe { cb.as_ref() }.ok_or_else(|| FfiError::invalid("store callbacks are NULL"))?;
        Ok(StoreCallbacks {
            user: cb.user,
            get: cb
                .get
                .ok_or_else(|| FfiError::invalid("store callback `get` is NULL"))?,
            commit: cb
                .commit
                .ok_or_else(|| FfiError::invalid("store callback `commit` is NULL"))?,
        })
    }

    fn get(&self, key: &str) -> Option<String> {
        let ckey = CString::new(key).ok()?;
        let bytes = read_via(key, |buf, size, len| {
            // SAFETY: the embedder's callback, called per the header's contract: `ckey` is a
            // NUL-terminated string and `buf` has `size` writable bytes, both live for the
            // call; `len` points to a live usize.
            unsafe { (self.get)(self.user, ckey.as_ptr(), buf, size, len) }
        })?;
        match String::from_utf8(bytes) {
            Ok(s) => Some(s),
            Err(_) => {
                log::warn!("{key}: the stored value is not UTF-8; treated as no value");
                None
            }
        }
    }

    fn commit(&self, batch: &ItemBatch) -> Result<(), BackendError> {
        let mut refused = Vec::new();
        let mut owned: Vec<(CString, Option<CString>)> = Vec::with_capacity(batch.len());
        for (k, v) in batch {
            let key = CString::new(k.as_str());
            let value = v.as_deref().map(CString::new).transpose();
            match (key, value) {
                (Ok(k), Ok(v)) => owned.push((k, v)),
                _ => refused.push((
                    k.clone(),
                    Fault::with_message(FaultCode::InvalidParameterValue, "contains a NUL"),
                )),
            }
        }
        if !refused.is_empty() {
            return Err(BackendError::Refused(refused));
        }
        let items: Vec<cwmp_item> = owned
            .iter()
            .map(|(k, v)| cwmp_item {
                key: k.as_ptr(),
                value: v.as_ref().map_or(std::ptr::null(), |v| v.as_ptr()),
            })
            .collect();
        let mut refusals = cwmp_refusals::default();
        // SAFETY: the embedder's callback per the header's contract: `items` holds
        // `items.len()` entries whose strings (`owned`) outlive the call, and `refusals` is a
        // live, exclusively borrowed value for the call.
        let rc = unsafe { (self.commit)(self.user, items.as_ptr(), items.len(), &mut refusals) };
        match rc {
            CWMP_OK => Ok(()),
            CWMP_REFUSED if !refusals.list.is_empty() => Err(BackendError::Refused(refusals.list)),
            CWMP_REFUSED => Err(BackendError::Corrupt(
                "the commit callback refused without naming a key".into(),
            )),
            rc => Err(BackendError::Io(std::io::Error::other(format!(
                "the commit callback failed ({rc})"
            )))),
        }
    }
}

/// The `ItemBackend` over the embedder's callbacks.
pub(crate) struct CallbackBackend {
    cb: StoreCallbacks,
    /// Every key the store may hold: the table's items and the reserved keys.
    candidates: Arc<Vec<String>>,
}

impl ItemBackend for CallbackBackend {
    fn get(&self, key: &str) -> Option<String> {
        self.cb.get(key)
    }

    fn commit(&mut self, batch: ItemBatch) -> Result<(), BackendError> {
        self.cb.commit(&batch)
    }

    /// The embedder's storage cannot list its keys; every key the store can have is known from
    /// the table (items and reserved keys), so these are asked for one by one.
    fn keys(&self) -> Vec<String> {
        self.candidates
            .iter()
            .filter(|k| self.cb.get(k).is_some())
            .cloned()
            .collect()
    }
}

/// Live parameters (`source = "live"`), read through `get` with the full parameter name.
struct CallbackLive(StoreCallbacks);

impl LiveValues for CallbackLive {
    fn live_value(&mut self, name: &str) -> Option<String> {
        self.0.get(name)
    }
}

/// The store both APIs run on.
pub(crate) type CStore = SchemaStore<CallbackBackend>;

/// Item names → the parameters stored in them, so the embedder can report a local change by
/// the name its configuration system uses.
#[derive(Debug, Default)]
pub(crate) struct ItemNames(HashMap<String, Vec<String>>);

impl ItemNames {
    /// Each name as a parameter name: an item name becomes the parameters it backs; anything
    /// else is taken as a parameter name (the engine ignores unknown ones).
    pub fn expand(&self, names: &[String]) -> Vec<String> {
        let mut out = Vec::with_capacity(names.len());
        for n in names {
            match self.0.get(n) {
                Some(params) => out.extend(params.iter().cloned()),
                None => out.push(n.clone()),
            }
        }
        out
    }
}

/// The configuration, checked and converted.
pub(crate) struct Setup {
    pub store: CStore,
    pub names: ItemNames,
    pub agent: AgentConfig,
    pub response_timeout: Duration,
    pub boot: BootReason,
    pub seed: u64,
    pub http_bind: Option<SocketAddr>,
    pub udp_bind: Option<SocketAddr>,
}

fn addr_arg(p: *const c_char, what: &str) -> Result<Option<SocketAddr>, FfiError> {
    // SAFETY: a field of the caller's `cwmp_config`: NULL or a NUL-terminated string.
    let Some(s) = (unsafe { opt_str_arg(p, what) })? else {
        return Ok(None);
    };
    s.parse()
        .map(Some)
        .map_err(|_| FfiError::invalid(format!("{what} `{s}` is not an IP:port address")))
}

/// Reads the configuration and opens the store.
pub(crate) fn setup(
    config: *const cwmp_config,
    store: *const cwmp_store_callbacks,
) -> Result<Setup, FfiError> {
    // SAFETY: the caller passes a valid config or NULL; it is only read here.
    let c = unsafe { config.as_ref() }.ok_or_else(|| FfiError::invalid("config is NULL"))?;
    let cb = StoreCallbacks::from_c(store)?;
    // SAFETY: a field of the caller's config: NULL or NUL-terminated, read during this call.
    let table = unsafe { str_arg(c.table_toml, "table_toml") }?;
    // SAFETY: as above.
    let root = unsafe { opt_str_arg(c.root, "root") }?.unwrap_or("Device.");
    let model = DeskPhoneModel::from_toml(table)
        .map_err(|e| FfiError::new(CWMP_ERR_CONFIG, e.to_string()))?;
    let boot = match c.boot_reason {
        CWMP_BOOT_POWER_ON => BootReason::PowerOn,
        CWMP_BOOT_FACTORY_RESET => BootReason::FactoryReset,
        CWMP_BOOT_AGENT_RESTART => BootReason::AgentRestart,
        other => return Err(FfiError::invalid(format!("boot_reason {other} is unknown"))),
    };
    let response_timeout = Duration::from_secs(u64::from(c.response_timeout_secs.max(30)));
    let mut agent = AgentConfig::default().with_root(root);
    agent.response_timeout = response_timeout;
    let mut candidates: Vec<String> = model.items().iter().map(|i| i.name().to_owned()).collect();
    candidates.extend(CStore::reserved_keys(model.schema()));
    let names = ItemNames(
        model
            .items()
            .iter()
            .map(|i| (i.name().to_owned(), i.params().to_vec()))
            .collect(),
    );
    let backend = CallbackBackend {
        cb,
        candidates: Arc::new(candidates),
    };
    let store =
        SchemaStore::with_backend(model.schema().clone(), backend, Box::new(CallbackLive(cb)));
    Ok(Setup {
        store,
        names,
        agent,
        response_timeout,
        boot,
        seed: c.seed,
        http_bind: addr_arg(c.connection_request_bind, "connection_request_bind")?,
        udp_bind: addr_arg(c.udp_bind, "udp_bind")?,
    })
}

/// A `cwmp_download` and the strings it points into (kept alive while it is handed out).
pub(crate) struct OwnedDownload {
    /// The bytes `raw` points into (moving a `CString` does not move its bytes).
    _strings: Vec<CString>,
    pub raw: cwmp_download,
}

/// A Download the ACS asked for (TR-069 Annex A.3.2.8). All strings are UTF-8 and never NULL.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct cwmp_download {
    /// Pass it back with the transfer's result.
    pub command_key: *const c_char,
    /// e.g. `"1 Firmware Upgrade Image"`, `"3 Vendor Configuration File"`.
    pub file_type: *const c_char,
    /// http or https URL of the file.
    pub url: *const c_char,
    /// For the file server (may be empty).
    pub username: *const c_char,
    /// For the file server (may be empty; a secret: do not log it).
    pub password: *const c_char,
    /// Expected size in bytes, 0 = not given.
    pub file_size: u32,
    /// May be empty.
    pub target_file_name: *const c_char,
    /// 1 when this transfer was handed out before a restart (it may have been interrupted,
    /// or completed by the restart, e.g. a firmware image now running).
    pub resumed: c_int,
}

impl OwnedDownload {
    pub fn new(d: &cwmp_engine::DownloadRequest) -> OwnedDownload {
        let strings: Vec<CString> = [
            d.command_key.as_str(),
            &d.file_type,
            &d.url,
            &d.username,
            d.password.expose(),
            &d.target_file_name,
        ]
        .iter()
        .map(|s| c_string(s))
        .collect();
        let raw = cwmp_download {
            command_key: strings[0].as_ptr(),
            file_type: strings[1].as_ptr(),
            url: strings[2].as_ptr(),
            username: strings[3].as_ptr(),
            password: strings[4].as_ptr(),
            file_size: d.file_size,
            target_file_name: strings[5].as_ptr(),
            resumed: c_int::from(d.resumed),
        };
        OwnedDownload {
            _strings: strings,
            raw,
        }
    }
}

/// A transfer fault from C arguments: code 0 = success.
pub(crate) fn transfer_fault(code: u32, text: Option<&str>) -> Option<Fault> {
    if code == 0 {
        return None;
    }
    let code = FaultCode::from_code(code);
    Some(match text {
        Some(t) if !t.is_empty() => Fault::with_message(code, t),
        _ => Fault::new(code),
    })
}

/// Unix seconds → the engine's date (0 or before 2001 = unknown, as the blocking client).
pub(crate) fn wall_from_unix(secs: i64) -> cwmp_model::DateTime {
    if secs < 978_307_200 {
        return cwmp_model::DateTime::UNKNOWN;
    }
    cwmp_model::DateTime::from_unix(secs).unwrap_or(cwmp_model::DateTime::UNKNOWN)
}
