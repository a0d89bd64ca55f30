//! The blocking API: `cwmp_client::Client` on a thread the embedder gives it.
//!
//! The handle holds the client's `ClientHandle` (thread-safe: value changes, connection
//! requests, transfer results, stop) outside the mutex that `cwmp_agent_run` holds for as long
//! as it runs, so the thread-safe calls never wait for it.

use crate::store::{
    cwmp_config, cwmp_download, cwmp_store_callbacks, read_via, setup, transfer_fault,
    wall_from_unix, CStore, ItemNames, OwnedDownload,
};
use crate::util::{copy_out, guard, opt_str_arg, str_arg, FfiError, LastError};
use crate::{
    CWMP_ERR_BUSY, CWMP_ERR_FINISHED, CWMP_ERR_INVALID_ARGUMENT, CWMP_ERR_IO, CWMP_ERR_STATE,
    CWMP_EXIT_FACTORY_RESET, CWMP_EXIT_REBOOT, CWMP_OK,
};
use cwmp_client::{
    Client, ClientConfig, ClientHandle, ConnectionRequestConfig, Device, Exit, TransportConfig,
};
use cwmp_engine::{DownloadRequest, PersistentState};
use std::ffi::{c_char, c_int, c_void};
use std::sync::Mutex;

/// The device's side of a blocking agent. Every callback may be NULL (then: state not
/// persisted / loaded; downloads refused with fault 9010; reboot and factory reset only
/// reported by `cwmp_agent_run`'s return value).
///
/// Threads: called on the thread inside `cwmp_agent_new` (load_state) or `cwmp_agent_run`
/// (all others), one at a time. A callback may call the thread-safe functions
/// (`cwmp_agent_transfer_complete`, `cwmp_agent_value_changed`, `cwmp_agent_stop`, …).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct cwmp_device_callbacks {
    /// Passed back to every callback.
    pub user: *mut c_void,
    /// Called once by `cwmp_agent_new`: the blob last given to `persist_state`. Same
    /// protocol as the store's `get`: return `CWMP_NOT_FOUND` for a factory-new device, or
    /// `CWMP_FOUND` with `*len` set and, when `*len < size`, the blob copied into `buf`.
    pub load_state: Option<
        unsafe extern "C" fn(
            user: *mut c_void,
            buf: *mut c_char,
            size: usize,
            len: *mut usize,
        ) -> c_int,
    >,
    /// Write the engine's state (`len` bytes, opaque) durably and atomically (temporary file,
    /// fsync, rename) before returning; return `CWMP_OK` or a negative value (logged; the
    /// agent keeps running on its in-memory state). `data` is valid during the call only.
    pub persist_state:
        Option<unsafe extern "C" fn(user: *mut c_void, data: *const u8, len: usize) -> c_int>,
    /// Perform this Download (the session has ended). Do it on another thread and report it
    /// with `cwmp_agent_transfer_complete`. `request` and its strings are valid during the
    /// call only.
    pub download: Option<unsafe extern "C" fn(user: *mut c_void, request: *const cwmp_download)>,
    /// The ACS asked for a reboot and its session has ended. Called just before
    /// `cwmp_agent_run` returns `CWMP_EXIT_REBOOT`. `command_key` valid during the call.
    pub reboot: Option<unsafe extern "C" fn(user: *mut c_void, command_key: *const c_char)>,
    /// The ACS asked for a factory reset: the parameter store is already reset (every
    /// writable item and library key removed through `commit`); reset whatever else the
    /// device keeps. Called just before `cwmp_agent_run` returns `CWMP_EXIT_FACTORY_RESET`.
    pub factory_reset: Option<unsafe extern "C" fn(user: *mut c_void)>,
}

/// The device callbacks, movable to the running thread.
#[derive(Clone, Copy)]
struct DeviceCallbacks(cwmp_device_callbacks);

// SAFETY: per the header's contract the callbacks may run on the thread the embedder gives
// `cwmp_agent_run`, and the library calls them one at a time from that thread only.
unsafe impl Send for DeviceCallbacks {}
// SAFETY: as above: never called from two threads at once.
unsafe impl Sync for DeviceCallbacks {}

impl<S: ?Sized> Device<S> for DeviceCallbacks {
    fn persist(&mut self, state: &PersistentState) -> std::io::Result<()> {
        let Some(persist) = self.0.persist_state else {
            return Ok(());
        };
        let blob = serde_json::to_vec(state).map_err(std::io::Error::other)?;
        // SAFETY: the embedder's callback per its contract; `blob` is live for the call.
        let rc = unsafe { persist(self.0.user, blob.as_ptr(), blob.len()) };
        if rc == CWMP_OK {
            Ok(())
        } else {
            Err(std::io::Error::other(format!(
                "persist_state returned {rc}"
            )))
        }
    }

    fn download(&mut self, request: DownloadRequest, handle: &ClientHandle) {
        match self.0.download {
            Some(download) => {
                let d = OwnedDownload::new(&request);
                // SAFETY: the embedder's callback; `d.raw` and the strings it points to live
                // in `d` until after the call.
                unsafe { download(self.0.user, &d.raw) };
            }
            None => {
                let now = cwmp_client::system_wall_clock();
                let fault = cwmp_model::Fault::with_message(
                    cwmp_model::FaultCode::FileTransferFailure,
                    "this device performs no downloads",
                );
                handle.transfer_complete(request.command_key, Some(fault), now, now);
            }
        }
    }
}

struct Running {
    client: Client,
    store: CStore,
    device: DeviceCallbacks,
    finished: bool,
}

/// A blocking agent (opaque). Create with `cwmp_agent_new`, run with `cwmp_agent_run`,
/// release with `cwmp_agent_free`.
pub struct cwmp_agent {
    handle: ClientHandle,
    names: ItemNames,
    last_error: LastError,
    running: Mutex<Running>,
}

/// Creates a blocking agent: loads the table, reads the state through `load_state`, and
/// prepares the client (nothing is sent before `cwmp_agent_run`).
///
/// Returns `CWMP_OK` and stores the handle in `*out`; or a negative code, `*out` = NULL and
/// the reason copied into `err` (`err_size` bytes, NUL-terminated, may be NULL).
/// Ownership: `config`, `store` and `device` are read during the call (the callbacks and
/// their `user` pointers are kept: they must stay valid until `cwmp_agent_free`).
/// Threads: any thread.
///
/// # Safety
/// Pointers are NULL or valid for reads (structs) / writes (`out`, `err` of `err_size`
/// bytes); strings NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn cwmp_agent_new(
    config: *const cwmp_config,
    store: *const cwmp_store_callbacks,
    device: *const cwmp_device_callbacks,
    out: *mut *mut cwmp_agent,
    err: *mut c_char,
    err_size: usize,
) -> c_int {
    guard(|| {
        if out.is_null() {
            return CWMP_ERR_INVALID_ARGUMENT;
        }
        // SAFETY: `out` is not NULL and writable (caller).
        unsafe { *out = std::ptr::null_mut() };
        match new_agent(config, store, device) {
            Ok(agent) => {
                // SAFETY: as above.
                unsafe { *out = Box::into_raw(Box::new(agent)) };
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

fn new_agent(
    config: *const cwmp_config,
    store: *const cwmp_store_callbacks,
    device: *const cwmp_device_callbacks,
) -> Result<cwmp_agent, FfiError> {
    let s = setup(config, store)?;
    // SAFETY: the caller passes a valid struct or NULL; it is copied here.
    let device = DeviceCallbacks(
        unsafe { device.as_ref() }
            .copied()
            .ok_or_else(|| FfiError::invalid("device callbacks are NULL"))?,
    );
    let state = match device.0.load_state {
        None => PersistentState::new(),
        Some(load) => match read_via("load_state", |buf, size, len| {
            // SAFETY: the embedder's callback per its contract; `buf` has `size` writable
            // bytes and `len` is a live usize, both for the call.
            unsafe { load(device.0.user, buf, size, len) }
        }) {
            None => PersistentState::new(),
            Some(blob) => serde_json::from_slice(&blob).map_err(|e| {
                FfiError::new(
                    CWMP_ERR_STATE,
                    format!("the persisted state is unreadable: {e}"),
                )
            })?,
        },
    };
    let config = ClientConfig {
        agent: s.agent,
        transport: TransportConfig {
            response_timeout: s.response_timeout,
            ..TransportConfig::default()
        },
        connection_requests: ConnectionRequestConfig {
            http_bind: s.http_bind,
            udp_bind: s.udp_bind,
            ..ConnectionRequestConfig::default()
        },
        ..ClientConfig::default()
    };
    let seed = if s.seed == 0 {
        cwmp_client::os_seed()
    } else {
        s.seed
    };
    let client = Client::new(config, state, s.boot, seed).map_err(|e| match e {
        // The engine's typed error says whether the state or the configuration is at fault.
        cwmp_client::Error::Engine(::cwmp_engine::Error::InvalidConfig(m)) => {
            FfiError::new(crate::CWMP_ERR_CONFIG, m)
        }
        e @ cwmp_client::Error::Engine(_) => FfiError::new(CWMP_ERR_STATE, e.to_string()),
        e => FfiError::new(crate::CWMP_ERR_CONFIG, e.to_string()),
    })?;
    Ok(cwmp_agent {
        handle: client.handle(),
        names: s.names,
        last_error: LastError::default(),
        running: Mutex::new(Running {
            client,
            store: s.store,
            device,
            finished: false,
        }),
    })
}

/// Borrows the handle.
///
/// # Safety
/// `agent` is NULL or a live handle from `cwmp_agent_new`.
unsafe fn agent_ref<'a>(agent: *const cwmp_agent) -> Option<&'a cwmp_agent> {
    // SAFETY: the caller's guarantee.
    unsafe { agent.as_ref() }
}

/// Runs the agent until it is stopped or the ACS asks for a reboot or a factory reset:
/// sessions with the ACS, periodic informs, retries, connection requests. Blocks.
///
/// Returns `CWMP_OK` after `cwmp_agent_stop`; `CWMP_EXIT_REBOOT` (the reboot callback ran:
/// reboot the device) or `CWMP_EXIT_FACTORY_RESET` (the factory_reset callback ran); after
/// either, the agent is finished: free it and create a new one at the next boot (with
/// `CWMP_BOOT_POWER_ON` and the persisted state). `CWMP_ERR_BUSY` when already running,
/// `CWMP_ERR_FINISHED` when finished, `CWMP_ERR_IO` when a socket could not be opened.
/// Threads: any one thread at a time (the callbacks run on it); other threads may call the
/// functions marked thread-safe meanwhile. The library keeps a little per-thread data on this
/// thread, released when the thread exits: run it on a thread you create and join (not the
/// process's main thread) if a leak checker watches the process.
///
/// # Safety
/// `agent` is a live handle from `cwmp_agent_new`.
#[no_mangle]
pub unsafe extern "C" fn cwmp_agent_run(agent: *mut cwmp_agent) -> c_int {
    guard(|| {
        // SAFETY: the caller's guarantee; only shared access is taken (the mutable state is
        // behind the mutex), so the thread-safe calls may use the handle meanwhile.
        let Some(a) = (unsafe { agent_ref(agent) }) else {
            return CWMP_ERR_INVALID_ARGUMENT;
        };
        let r = run(a);
        a.last_error.status(r)
    })
}

fn run(a: &cwmp_agent) -> Result<c_int, FfiError> {
    let mut guard = match a.running.try_lock() {
        Ok(g) => g,
        Err(std::sync::TryLockError::WouldBlock) => {
            return Err(FfiError::new(
                CWMP_ERR_BUSY,
                "cwmp_agent_run is already running",
            ))
        }
        // A panic inside an earlier run: the state cannot be trusted.
        Err(std::sync::TryLockError::Poisoned(_)) => {
            return Err(FfiError::new(
                crate::CWMP_ERR_PANIC,
                "an earlier run failed internally",
            ))
        }
    };
    let r = &mut *guard;
    if r.finished {
        return Err(FfiError::new(
            CWMP_ERR_FINISHED,
            "the agent has finished (reboot or factory reset): create a new one",
        ));
    }
    let exit = r
        .client
        .run(&mut r.store, &mut r.device)
        .map_err(|e| FfiError::new(CWMP_ERR_IO, e.to_string()))?;
    let cb = r.device.0;
    match exit {
        Exit::Reboot { command_key } => {
            r.finished = true;
            if let Some(reboot) = cb.reboot {
                let key = crate::util::c_string(&command_key);
                // SAFETY: the embedder's callback; `key` is live for the call.
                unsafe { reboot(cb.user, key.as_ptr()) };
            }
            Ok(CWMP_EXIT_REBOOT)
        }
        Exit::FactoryReset => {
            r.finished = true;
            if let Some(reset) = cb.factory_reset {
                // SAFETY: the embedder's callback.
                unsafe { reset(cb.user) };
            }
            Ok(CWMP_EXIT_FACTORY_RESET)
        }
        _ => Ok(CWMP_OK),
    }
}

/// Stops `cwmp_agent_run`: it returns `CWMP_OK` within a few seconds (a request in flight is
/// abandoned; undelivered events stay in the persisted state). Calling it before
/// `cwmp_agent_run` makes that return at once.
/// Threads: thread-safe (any thread, also from a signal-handling thread; not from a signal
/// handler itself).
///
/// # Safety
/// `agent` is a live handle.
#[no_mangle]
pub unsafe extern "C" fn cwmp_agent_stop(agent: *const cwmp_agent) -> c_int {
    guard(|| {
        // SAFETY: the caller's guarantee; shared access only.
        let Some(a) = (unsafe { agent_ref(agent) }) else {
            return CWMP_ERR_INVALID_ARGUMENT;
        };
        a.handle.shutdown();
        CWMP_OK
    })
}

/// Reports values the device changed itself (local menu, DHCP, …): `count` names, each an
/// item name of the table or a full parameter name. Parameters with notification on reach
/// the ACS as `4 VALUE CHANGE` (active: in a session started for it). Write the new values
/// to your storage first: the agent reads them through `get`.
/// Ownership: `names` is read during the call. Threads: thread-safe.
///
/// # Safety
/// `agent` is a live handle; `names` points to `count` NUL-terminated strings.
#[no_mangle]
pub unsafe extern "C" fn cwmp_agent_value_changed(
    agent: *const cwmp_agent,
    names: *const *const c_char,
    count: usize,
) -> c_int {
    guard(|| {
        // SAFETY: the caller's guarantee; shared access only.
        let Some(a) = (unsafe { agent_ref(agent) }) else {
            return CWMP_ERR_INVALID_ARGUMENT;
        };
        // SAFETY: `names` points to `count` valid string pointers (caller).
        let r = unsafe { name_list(names, count) }.map(|list| {
            a.handle.values_changed(a.names.expand(&list));
            CWMP_OK
        });
        a.last_error.status(r)
    })
}

/// Reads `count` C strings.
///
/// # Safety
/// `names` is NULL with `count` 0, or points to `count` NUL-terminated strings.
pub(crate) unsafe fn name_list(
    names: *const *const c_char,
    count: usize,
) -> Result<Vec<String>, FfiError> {
    if count == 0 {
        return Ok(Vec::new());
    }
    if names.is_null() {
        return Err(FfiError::invalid("names is NULL"));
    }
    // SAFETY: `names` points to `count` pointers (caller).
    let ptrs = unsafe { std::slice::from_raw_parts(names, count) };
    ptrs.iter()
        // SAFETY: each is a NUL-terminated string (caller).
        .map(|&p| unsafe { str_arg(p, "name") }.map(str::to_owned))
        .collect()
}

/// An authenticated connection request arrived on a socket the embedder owns (it checked
/// the Digest credentials and answered 200): the agent opens a session with
/// `6 CONNECTION REQUEST`. Threads: thread-safe.
///
/// # Safety
/// `agent` is a live handle.
#[no_mangle]
pub unsafe extern "C" fn cwmp_agent_connection_request(agent: *const cwmp_agent) -> c_int {
    guard(|| {
        // SAFETY: the caller's guarantee; shared access only.
        let Some(a) = (unsafe { agent_ref(agent) }) else {
            return CWMP_ERR_INVALID_ARGUMENT;
        };
        a.handle.connection_request();
        CWMP_OK
    })
}

/// A Download handed out by the `download` callback finished: `fault_code` 0 on success,
/// else a transfer fault (9001, 9002, 9010–9020) with `fault_string` (NULL = standard text);
/// `start_unix` / `complete_unix` in seconds since 1970 (0 = unknown). The ACS gets a
/// TransferComplete in the next session. Ownership: strings read during the call.
/// Threads: thread-safe.
///
/// # Safety
/// `agent` is a live handle; strings NUL-terminated (`fault_string` may be NULL).
#[no_mangle]
pub unsafe extern "C" fn cwmp_agent_transfer_complete(
    agent: *const cwmp_agent,
    command_key: *const c_char,
    fault_code: u32,
    fault_string: *const c_char,
    start_unix: i64,
    complete_unix: i64,
) -> c_int {
    guard(|| {
        // SAFETY: the caller's guarantee; shared access only.
        let Some(a) = (unsafe { agent_ref(agent) }) else {
            return CWMP_ERR_INVALID_ARGUMENT;
        };
        let r = (|| {
            // SAFETY: NUL-terminated strings valid during the call (caller).
            let key = unsafe { str_arg(command_key, "command_key") }?;
            // SAFETY: as above.
            let text = unsafe { opt_str_arg(fault_string, "fault_string") }?;
            a.handle.transfer_complete(
                key.to_owned(),
                transfer_fault(fault_code, text),
                wall_from_unix(start_unix),
                wall_from_unix(complete_unix),
            );
            Ok(CWMP_OK)
        })();
        a.last_error.status(r)
    })
}

/// Copies the text of the handle's last error into `buf` (`size` bytes, NUL-terminated, cut
/// if needed; `buf` may be NULL to ask for the length). Returns the text's full length in
/// bytes (0: no error yet). Threads: thread-safe.
///
/// # Safety
/// `agent` is a live handle; `buf` NULL or `size` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn cwmp_agent_last_error(
    agent: *const cwmp_agent,
    buf: *mut c_char,
    size: usize,
) -> usize {
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        // SAFETY: the caller's guarantee; shared access only.
        let text = match unsafe { agent_ref(agent) } {
            Some(a) => a.last_error.get(),
            None => "agent is NULL".to_owned(),
        };
        // SAFETY: `buf` is NULL or has `size` writable bytes (caller).
        unsafe { copy_out(&text, buf, size) }
    }));
    r.unwrap_or(0)
}

/// Releases the agent (NULL is ignored). Only once `cwmp_agent_run` has returned and no
/// other thread uses the handle any more; the callbacks are not called after this.
///
/// # Safety
/// `agent` is NULL or a handle from `cwmp_agent_new` not freed before and not in use.
#[no_mangle]
pub unsafe extern "C" fn cwmp_agent_free(agent: *mut cwmp_agent) {
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        if !agent.is_null() {
            // SAFETY: made by `Box::into_raw` in `cwmp_agent_new`, freed once (caller).
            drop(unsafe { Box::from_raw(agent) });
        }
    }));
}
