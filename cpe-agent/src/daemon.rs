//! The daemon: runs the simulated phone until SIGTERM or SIGINT.
//!
//! ```text
//!            ┌────────────────────────── boot loop (main thread) ──────────────────────────┐
//!   start ──►│ open store (UpTime from now) → LAN addresses → load CWMP state → Client::new │
//!            │      │                                                                      │
//!            │      ▼ client.run(store, phone)                                             │
//!            │  Exit::Reboot ──────────► "power cycle": loop (1 BOOT + M Reboot)           │
//!            │  Exit::FactoryReset ────► config [items] written again, loop (0 BOOTSTRAP)  │
//!            │  Exit::Shutdown ────────► a reboot asked by a download? loop : stop         │
//!            └─────────────────────────────────────────────────────────────────────────────┘
//!   signal thread: SIGTERM/SIGINT → stop flag + ClientHandle::shutdown (a POST in flight is
//!                  aborted: the session is abandoned, TR-069 §3.4; its events stay queued)
//!   control thread: admin/dhcp requests → ClientHandle::with_store_as (driver thread)
//!   TR-064 threads (`[tr064]`): SOAP actions → the same store jobs; Reboot / FactoryReset
//!                  → a local restart: ClientHandle::shutdown, then the boot loop reboots
//!                  (1 BOOT) or resets the store and reboots (1 BOOT + 0 BOOTSTRAP)
//! ```
//!
//! A reboot happens in process: the client ends, the store is reopened (so `UpTime` restarts
//! from zero and `DeviceStatus` is `Initializing` until the boot is complete) and a
//! new client starts with
//! `BootReason::PowerOn` from the persisted state, which already holds `M Reboot` and its
//! CommandKey (the engine persisted it before asking for the reboot).

use crate::config::Config;
use crate::control::{self, ControlServer, Request, Response};
use crate::phone;
use crate::state::{self, StateLock};
use crate::trace::TraceWriter;
use cwmp_client::{
    Client, ClientConfig, ClientHandle, ClientIdentity, ConnectionRequestConfig, Device, Exit,
    TlsSettings,
};
use cwmp_engine::{AgentConfig, BootReason, DownloadRequest, PersistentState, TraceEvent};
use deskphone_datamodel::{DeskPhoneModel, DeviceStatus, OcmsStore};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long the control socket waits for the driver to run a job.
const JOB_TIMEOUT: Duration = Duration::from_secs(100);

/// The client currently running (none between two boots).
type CurrentClient = Arc<Mutex<Option<ClientHandle>>>;

/// A restart asked by a local management interface (TR-064), done by the boot loop when the
/// client has stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LocalRestart {
    Reboot,
    FactoryReset,
}

type PendingRestart = Arc<Mutex<Option<LocalRestart>>>;

/// TR-064's way to the phone: store jobs on the driver's thread (like `admin`), restarts
/// through the boot loop.
struct DaemonPhone {
    client: CurrentClient,
    restart: PendingRestart,
}

impl DaemonPhone {
    fn restart(&self, what: LocalRestart) -> Result<(), String> {
        let handle = current(&self.client).ok_or("the phone is restarting; try again")?;
        *self.restart.lock().unwrap_or_else(|p| p.into_inner()) = Some(what);
        handle.shutdown();
        Ok(())
    }
}

impl crate::tr064::PhoneAccess for DaemonPhone {
    fn run(&self, job: crate::tr064::StoreJob) -> bool {
        match current(&self.client) {
            Some(h) => h.with_store_as::<OcmsStore>(job).is_ok(),
            None => false,
        }
    }

    fn reboot(&self) -> Result<(), String> {
        self.restart(LocalRestart::Reboot)
    }

    fn factory_reset(&self) -> Result<(), String> {
        self.restart(LocalRestart::FactoryReset)
    }
}

fn current(c: &CurrentClient) -> Option<ClientHandle> {
    c.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

fn set_current(c: &CurrentClient, h: Option<ClientHandle>) {
    *c.lock().unwrap_or_else(|p| p.into_inner()) = h;
}

/// Run the phone described by `cfg` until SIGTERM or SIGINT. Returns an error message for
/// start-up failures (state directory locked or unreadable, sockets that cannot be bound).
pub fn run(cfg: Config) -> Result<(), String> {
    // The configuration file's [items] are the factory defaults of this phone's model, so a
    // store that a FactoryReset emptied reads them at once (no crash window before the
    // rewrite below).
    let model = Arc::new(factory_model(&cfg)?);
    let dir = cfg.state_dir.clone();
    state::ensure_dir(&dir).map_err(|e| format!("state directory {}: {e}", dir.display()))?;
    let _lock = StateLock::try_acquire(&dir)
        .map_err(|e| format!("state directory {}: {e}", dir.display()))?
        .ok_or_else(|| {
            format!(
                "another cpe-agent is running on the state directory {}",
                dir.display()
            )
        })?;

    check_listen_addresses(&cfg)?;
    let stop = Arc::new(AtomicBool::new(false));
    let reboot_requested = Arc::new(AtomicBool::new(false));
    let client: CurrentClient = Arc::new(Mutex::new(None));
    start_signal_thread(stop.clone(), client.clone())?;
    // Auto provisioning's inbox (control socket, DHCP hook, PnP), kept across reboots.
    let provisioner = crate::provision::worker::Provisioner::new();
    let _control = start_control(&cfg, model.clone(), client.clone(), provisioner.clone())
        .map_err(|e| format!("control socket: {e}"))?;
    // Shared with the Cloud Deployment worker, which notes its attempts.
    let trace = Arc::new(Mutex::new(TraceWriter::new(&dir)));
    let note = |text: &str| trace.lock().unwrap_or_else(|p| p.into_inner()).note(text);
    let restart: PendingRestart = Arc::new(Mutex::new(None));
    let mut tr064: Option<crate::tr064::Tr064Server> = None;
    let mut web: Option<crate::web::WebServer> = None;
    let mut boot_reason = BootReason::PowerOn;

    let mut boots = 0u64;
    while !stop.load(Ordering::SeqCst) {
        boots += 1;
        let (mut store, status) = phone::open_store(&cfg, &model)?;
        if boots == 1 {
            warn_config_drift(&cfg, &model, &store);
        }
        // DeviceStatus (TR-106 enumeration; the rules are in the README):
        // `Initializing` while the phone boots (store, network, downloads settled), then
        // `Up` before the client starts: a booted phone that talks to its ACS is up, also in
        // its first session. `Error` when the boot found the firmware image the phone runs
        // missing or failing verification; it stays for this boot.
        status.set(DeviceStatus::Initializing);
        phone::refresh_host_network(&mut store, &model);
        // Downloads cut short by a crash or a reboot are settled before the client runs; a
        // firmware image installed by the last boot becomes the running version.
        let recovery = crate::transfer::recover(&dir).map_err(|e| format!("downloads: {e}"))?;
        if let Some(version) = recovery.software_version.clone() {
            let item = [("standard-software-version".to_owned(), version)];
            if model.item_value(store.backend(), &item[0].0).as_deref() != Some(&item[0].1) {
                deskphone_datamodel::apply_items(&mut store, &model, &item)
                    .map_err(|e| format!("software version: {}", phone::set_error_text(&e)))?;
            }
        }
        let device_type = model
            .item_value(store.backend(), "device-type")
            .unwrap_or_default();
        let boot_status = match crate::transfer::verify_active_image(&dir, &device_type) {
            Ok(_) => DeviceStatus::Up,
            Err(e) => {
                log::error!("boot: {e}; DeviceStatus is Error");
                note(&format!("boot {boots}: {e}"));
                DeviceStatus::Error
            }
        };
        let serial = match cwmp_model::ParameterStore::internal_value(
            &mut store,
            "Device.DeviceInfo.SerialNumber",
        ) {
            Some(cwmp_model::Value::String(s)) => s,
            _ => String::new(),
        };
        let identity = crate::identity::default_identity(&dir, &serial)
            .map_err(|e| format!("default device certificate: {e}"))?;
        // TR-064 starts once, with the first boot's facts, and outlives reboots.
        if tr064.is_none() {
            if let Some(t) = &cfg.tr064 {
                let facts = crate::tr064::Tr064::read_facts(&mut store);
                tr064 = Some(start_tr064(t, &dir, facts, &model, &client, &restart)?);
            }
        }
        // The web-based management starts once too (it needs the device certificate).
        if web.is_none() && (cfg.web_address.is_some() || cfg.web_https_address.is_some()) {
            web = Some(start_web(&cfg, &model, &client, &restart)?);
        }
        let mut persisted = state::load_cwmp_state(&dir).map_err(|e| format!("CWMP state: {e}"))?;
        // Results of transfers that finished with (or were cut short by) the restart go into
        // the engine state before the client starts, so the boot Inform carries `1 BOOT`,
        // `7 TRANSFER COMPLETE` and `M Download` together and the TransferComplete follows in
        // that session (TR-069 Annex A.3.2.8). Persisted first, then the journal marked: see
        // `transfer::mark_settled`.
        let settled = recovery.settle(&mut persisted);
        if !settled.is_empty() {
            log::info!("transfers settled at boot: {settled:?}");
            state::save_cwmp_state(&dir, &persisted).map_err(|e| format!("CWMP state: {e}"))?;
            crate::transfer::mark_settled(&dir, &settled).map_err(|e| format!("downloads: {e}"))?;
        }
        log::info!(
            "phone {serial} booting (boot {boots}); pending: {:?}",
            persisted.pending_event_codes()
        );
        trace.lock().unwrap_or_else(|p| p.into_inner()).begin_boot();
        note(&format!("boot {boots}: power on"));
        let config = ClientConfig {
            agent: AgentConfig::new().with_trace(true),
            // The client owns the connection-request sockets while it runs, and writes
            // ConnectionRequestURL / UDPConnectionRequestAddress itself.
            connection_requests: ConnectionRequestConfig {
                http_bind: cfg.connection_request_address,
                udp_bind: cfg.udp_address,
                burst: cfg.connection_request_burst,
                refill_every: cfg.connection_request_refill,
                ..ConnectionRequestConfig::default()
            },
            ..ClientConfig::default()
        };
        let mut cwmp = Client::new(
            config,
            persisted,
            std::mem::replace(&mut boot_reason, BootReason::PowerOn),
            cwmp_client::os_seed(),
        )
        .map_err(|e| format!("CWMP client: {e}"))?;
        set_current(&client, Some(cwmp.handle()));
        let offline = state::take_offline_changes(&dir);
        if !offline.is_empty() {
            log::info!("changed while stopped: {offline:?}");
            cwmp.handle().values_changed(offline);
        }
        // A signal that arrived before the handle was published must still stop us.
        if stop.load(Ordering::SeqCst) {
            break;
        }
        // Cloud Deployment, while the phone has no ACS address (it checks and ends by
        // itself otherwise); stopped with this client.
        let cloud_stop = Arc::new(AtomicBool::new(false));
        crate::cloud::start(crate::cloud::CloudEnv {
            state_dir: dir.clone(),
            handle: cwmp.handle(),
            model: model.clone(),
            default_identity: identity.clone(),
            trace: trace.clone(),
            stop: cloud_stop.clone(),
        });
        // Auto provisioning (DHCP option, SIP PnP, static server); stopped with this client.
        start_provisioning(
            &cfg,
            &dir,
            &cwmp,
            &model,
            &identity,
            &provisioner,
            &cloud_stop,
            &reboot_requested,
        );
        let mut dev = Phone {
            dir: dir.clone(),
            trace: trace.clone(),
            sessions: crate::session_log::SessionLog::new(),
            stop: stop.clone(),
            default_identity: identity,
            model: model.clone(),
            reboot: reboot_requested.clone(),
            handle: cwmp.handle(),
            config_key: cfg.config_encryption_key.clone(),
            last_tls: None,
            device_type,
            mac_address: model
                .item_value(store.backend(), "mac-address")
                .unwrap_or_default(),
        };
        status.set(boot_status);
        let exit = cwmp.run(&mut store, &mut dev);
        cloud_stop.store(true, Ordering::SeqCst);
        set_current(&client, None);
        match exit {
            Ok(Exit::Reboot { command_key }) => {
                log::info!("rebooting (CommandKey {command_key:?})");
                note("reboot asked by the ACS");
            }
            Ok(Exit::FactoryReset) => {
                // The driver has reset the store (values, attributes, ParameterKey,
                // certificates). The model's defaults already are the configuration file's
                // items, so a crash right here loses nothing; writing them makes the state
                // explicit again ("once the phone has state, the state wins").
                log::info!("factory reset");
                note("factory reset asked by the ACS");
                phone::write_factory_items(&mut store, &cfg, &model)?;
            }
            Ok(_) if stop.load(Ordering::SeqCst) => break,
            Ok(_) if restart.lock().unwrap_or_else(|p| p.into_inner()).is_some() => {
                let what = restart.lock().unwrap_or_else(|p| p.into_inner()).take();
                if what == Some(LocalRestart::FactoryReset) {
                    // As from the admin menu: reset, factory items back, and the next boot
                    // is a local factory reset (1 BOOT + 0 BOOTSTRAP, pending events dropped).
                    log::info!("factory reset (local)");
                    note("factory reset asked locally (TR-064)");
                    deskphone_datamodel::factory_reset(&mut store, &model)
                        .map_err(|f| format!("factory reset: {}", f.message))?;
                    phone::write_factory_items(&mut store, &cfg, &model)?;
                    boot_reason = BootReason::FactoryReset;
                } else {
                    log::info!("rebooting (local)");
                    note("reboot asked locally (TR-064)");
                }
            }
            Ok(_) if reboot_requested.swap(false, Ordering::SeqCst) => {
                log::info!("rebooting to apply a download");
                note("reboot to apply a download");
            }
            Ok(_) => break,
            Err(e) => {
                log::error!("CWMP client stopped: {e}");
                return Err(format!("CWMP client: {e}"));
            }
        }
    }
    log::info!("stopped");
    note("stopped");
    Ok(())
}

/// Once the phone has state, the state wins over the configuration file's `[items]` (they
/// are factory defaults). Say so at start for every item the file sets to something else, and
/// how to apply it, so an edit of the file is never silently ignored.
fn warn_config_drift(cfg: &Config, model: &DeskPhoneModel, store: &OcmsStore) {
    for (name, wanted) in &cfg.items {
        let stored = model.item_value(store.backend(), name).unwrap_or_default();
        if &stored == wanted {
            continue;
        }
        let secret = model.item(name).is_some_and(|i| i.is_secret());
        let show = |v: &str| {
            if secret && !v.is_empty() {
                phone::MASK.to_owned()
            } else {
                format!("{v:?}")
            }
        };
        let how = if model.is_locally_writable(name) {
            format!("`cpe-agent admin --config FILE set {name} …` applies it, or a factory reset")
        } else {
            "a factory reset, or a fresh state directory, applies it".to_owned()
        };
        log::warn!(
            "configuration file: {name} = {} is not in effect: the phone's state has {} \
             (the file's [items] are factory defaults); {how}",
            show(wanted),
            show(&stored)
        );
    }
}

/// Refuse to start when a listening address is unusable (in use, not local): a phone that
/// runs on without its connection-request listener looks offline to its ACS, with nothing
/// on the phone's side to say why. The client binds the same addresses right after this.
fn check_listen_addresses(cfg: &Config) -> Result<(), String> {
    if let Some(a) = cfg.connection_request_address {
        std::net::TcpListener::bind(a)
            .map_err(|e| format!("connection-request-address {a}: cannot listen: {e}"))?;
    }
    if let Some(a) = cfg.udp_address {
        std::net::UdpSocket::bind(a).map_err(|e| format!("udp-address {a}: cannot listen: {e}"))?;
    }
    Ok(())
}

fn start_signal_thread(stop: Arc<AtomicBool>, client: CurrentClient) -> Result<(), String> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGTERM, SIGINT])
        .map_err(|e| format!("signal handlers: {e}"))?;
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            for sig in signals.forever() {
                log::info!("signal {sig}: stopping");
                stop.store(true, Ordering::SeqCst);
                if let Some(h) = current(&client) {
                    h.shutdown();
                }
            }
        })
        .map_err(|e| format!("signal thread: {e}"))?;
    Ok(())
}

/// Start the TR-064 interface (once: it outlives reboots, like the control socket).
fn start_tr064(
    t: &crate::tr064::Tr064Config,
    dir: &std::path::Path,
    facts: crate::tr064::services::DeviceFacts,
    model: &Arc<DeskPhoneModel>,
    client: &CurrentClient,
    restart: &PendingRestart,
) -> Result<crate::tr064::Tr064Server, String> {
    let phone = Arc::new(DaemonPhone {
        client: client.clone(),
        restart: restart.clone(),
    });
    let core = Arc::new(crate::tr064::Tr064::new(
        model.clone(),
        phone,
        t.transaction_timeout,
    ));
    let cert = std::fs::read_to_string(dir.join(crate::identity::DEVICE_CERT_FILE));
    let key = std::fs::read_to_string(dir.join(crate::identity::DEVICE_KEY_FILE));
    let tls = match (&cert, &key) {
        (Ok(c), Ok(k)) => Some((c.as_str(), k.as_str())),
        _ => None,
    };
    let serial = facts.serial_number.clone();
    core.set_facts(facts);
    crate::tr064::Tr064Server::start(t, core, tls, &serial).map_err(|e| format!("TR-064: {e}"))
}

/// Start the web-based management (once: it outlives reboots, like TR-064).
fn start_web(
    cfg: &Config,
    model: &Arc<DeskPhoneModel>,
    client: &CurrentClient,
    restart: &PendingRestart,
) -> Result<crate::web::WebServer, String> {
    let phone = Arc::new(DaemonPhone {
        client: client.clone(),
        restart: restart.clone(),
    });
    let c2 = client.clone();
    let env = crate::web::WebEnv {
        model: model.clone(),
        phone,
        inform_now: Box::new(move || match current(&c2) {
            Some(h) if h.connection_request() => Ok(()),
            _ => Err("the phone is restarting; try again".into()),
        }),
        state_dir: cfg.state_dir.clone(),
        tr064: cfg.tr064.clone(),
    };
    let dir = &cfg.state_dir;
    let cert = std::fs::read_to_string(dir.join(crate::identity::DEVICE_CERT_FILE));
    let key = std::fs::read_to_string(dir.join(crate::identity::DEVICE_KEY_FILE));
    let tls = match (&cert, &key) {
        (Ok(c), Ok(k)) => Some((c.as_str(), k.as_str())),
        _ => None,
    };
    crate::web::WebServer::start(env, cfg.web_address, cfg.web_https_address, tls)
        .map_err(|e| format!("web-based management: {e}"))
}

/// Run `job` on the driver's thread with the store and wait for its result.
fn on_driver<T: Send + 'static>(
    client: &CurrentClient,
    job: impl FnOnce(&mut OcmsStore) -> T + Send + 'static,
) -> Result<T, String> {
    let handle = current(client).ok_or("the phone is restarting; try again")?;
    let (tx, rx) = mpsc::channel();
    if handle
        .with_store_as::<OcmsStore>(move |store| {
            let _ = tx.send(job(store));
        })
        .is_err()
    {
        return Err("the phone is restarting; try again".into());
    }
    rx.recv_timeout(JOB_TIMEOUT)
        .map_err(|_| "the phone did not answer (restarting or busy); try again".into())
}

/// Start this boot's auto-provisioning worker (and SIP PnP client).
#[allow(clippy::too_many_arguments)]
fn start_provisioning(
    cfg: &Config,
    dir: &std::path::Path,
    cwmp: &Client,
    model: &Arc<DeskPhoneModel>,
    identity: &ClientIdentity,
    provisioner: &Arc<crate::provision::worker::Provisioner>,
    stop: &Arc<AtomicBool>,
    reboot_requested: &Arc<AtomicBool>,
) {
    let _ = cfg;
    provisioner.forget_pnp();
    crate::provision::pnp::start(crate::provision::pnp::PnpEnv {
        handle: cwmp.handle(),
        model: model.clone(),
        provisioner: provisioner.clone(),
        stop: stop.clone(),
    });
    let reboot_flag = reboot_requested.clone();
    let reboot_handle = cwmp.handle();
    crate::provision::worker::start(crate::provision::worker::WorkerEnv {
        state_dir: dir.to_owned(),
        handle: cwmp.handle(),
        model: model.clone(),
        default_identity: identity.clone(),
        provisioner: provisioner.clone(),
        stop: stop.clone(),
        reboot: Box::new(move || {
            reboot_flag.store(true, Ordering::SeqCst);
            reboot_handle.shutdown();
        }),
    });
}

fn start_control(
    cfg: &Config,
    model: Arc<DeskPhoneModel>,
    client: CurrentClient,
    provisioner: Arc<crate::provision::worker::Provisioner>,
) -> std::io::Result<ControlServer> {
    let dir = cfg.state_dir.clone();
    ControlServer::start(&state::control_socket(&cfg.state_dir), move |req| {
        handle_request(req, &model, &client, &provisioner, &dir)
    })
}

/// How long `cpe-agent provision` waits for the check (the control client waits 120 s).
const PROVISION_WAIT: Duration = Duration::from_secs(110);

fn handle_request(
    req: Request,
    model: &Arc<DeskPhoneModel>,
    client: &CurrentClient,
    provisioner: &Arc<crate::provision::worker::Provisioner>,
    dir: &std::path::Path,
) -> Response {
    use crate::provision::worker::Trigger;
    let m = model.clone();
    let result = match req {
        Request::Provision => {
            if current(client).is_none() {
                Err("the phone is restarting; try again".to_owned())
            } else {
                let (tx, rx) = mpsc::channel();
                provisioner.trigger(Trigger::Command, Some(tx));
                match rx.recv_timeout(PROVISION_WAIT) {
                    Ok(rec) => {
                        let text = crate::provision::access_log::render(std::slice::from_ref(&rec));
                        Ok(if rec.result == "ok" {
                            Ok(text)
                        } else {
                            Err(text)
                        })
                    }
                    Err(_) => Err("the provisioning check is still running; see \
                                   `cpe-agent admin --config FILE provisioning`"
                        .to_owned()),
                }
            }
        }
        Request::DhcpUrl { option, url } => {
            let d = dir.to_owned();
            let used = on_driver(client, move |s| dhcp_url(s, &m, &d, option, &url));
            if matches!(&used, Ok(Ok((true, _)))) {
                provisioner.trigger(Trigger::Dhcp, None);
            }
            used.map(|r| r.map(|(_, text)| text))
        }
        Request::Set { items } => on_driver(client, move |s| {
            phone::set_items(s, &m, &items).map(|changed| {
                log::info!("local change: {}", changed.report.trim_end());
                changed.report
            })
        }),
        Request::Get { item } => on_driver(client, move |s| phone::get_item(s, &m, &item)),
        Request::List => on_driver(client, move |s| Ok(phone::list_items(s, &m))),
        Request::Dhcp { hex } => match crate::dhcp::parse_hex(&hex) {
            Ok(opt) => on_driver(client, move |s| {
                phone::apply_option43(s, &m, &opt).map(|changed| {
                    log::info!("DHCP option 43: {}", changed.report.trim_end());
                    changed.report
                })
            }),
            Err(e) => Ok(Err(format!("option 43: {e}"))),
        },
    };
    match result {
        Ok(Ok(out)) => Response::ok(out),
        Ok(Err(e)) | Err(e) => Response::err(e),
    }
}

/// What the engine asks of the phone (persistence, downloads, TLS, traces).
struct Phone {
    dir: PathBuf,
    trace: Arc<Mutex<TraceWriter>>,
    /// The one-line-per-session log.
    sessions: crate::session_log::SessionLog,
    /// Set when the daemon is stopping (a session cut short then is not the ACS's fault).
    stop: Arc<AtomicBool>,
    default_identity: ClientIdentity,
    model: Arc<DeskPhoneModel>,
    /// Set by a download that needs a reboot (firmware): the boot loop reboots on shutdown.
    reboot: Arc<AtomicBool>,
    handle: ClientHandle,
    config_key: Option<cwmp_model::Secret>,
    /// The TLS settings of the last session, for https file servers (downloads start after
    /// a session, with no store at hand).
    last_tls: Option<TlsSettings>,
    device_type: String,
    mac_address: String,
}

impl Device<OcmsStore> for Phone {
    fn persist(&mut self, state: &PersistentState) -> std::io::Result<()> {
        state::save_cwmp_state(&self.dir, state)
    }

    fn download(&mut self, request: DownloadRequest, handle: &ClientHandle) {
        let reboot_flag = self.reboot.clone();
        let reboot_handle = handle.clone();
        let env = crate::transfer::TransferEnv {
            state_dir: self.dir.clone(),
            handle: handle.clone(),
            tls: match &self.last_tls {
                Some(t) => t.clone(),
                None => TlsSettings::new().with_identity(self.default_identity.clone()),
            },
            device_type: self.device_type.clone(),
            mac_address: self.mac_address.clone(),
            config_key: self.config_key.clone(),
            reboot: Box::new(move || {
                reboot_flag.store(true, Ordering::SeqCst);
                reboot_handle.shutdown();
            }),
        };
        crate::transfer::start(env, request);
    }

    fn tls_settings(
        &mut self,
        store: &mut OcmsStore,
    ) -> Option<Result<TlsSettings, cwmp_client::Error>> {
        let tls = tls_from_items(store, &self.model, &self.default_identity);
        if let Ok(t) = &tls {
            self.last_tls = Some(t.clone());
        }
        self.device_type = self
            .model
            .item_value(store.backend(), "device-type")
            .unwrap_or_default();
        Some(tls)
    }

    fn session_ended(&mut self, session_id: u64, ok: bool) {
        log::debug!("session {session_id} ended (ok: {ok})");
        // The ACS may have moved the phone to another ACS: the LAN addresses are those of
        // the route to the ACS, so look again (a no-op when nothing changed). Run as a store
        // job because this hook has no store.
        let model = self.model.clone();
        let _ = self.handle.with_store_as::<OcmsStore>(move |store| {
            phone::refresh_host_network(store, &model);
        });
    }

    fn trace(&mut self, event: &TraceEvent) {
        log::debug!("{event:?}");
        for line in self
            .sessions
            .on_event(event, self.stop.load(Ordering::SeqCst))
        {
            log::log!(line.level, "{}", line.text);
        }
        self.trace
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .record(event);
    }
}

/// The TLS settings from the certificate items (they have no TR-069 name, so the driver
/// cannot find them itself): CA certificates 1 and 2 (when both are empty, the default
/// root set), and the provisioned client certificate and key, or else the default device
/// certificate.
pub fn tls_from_items(
    store: &OcmsStore,
    model: &DeskPhoneModel,
    default_identity: &ClientIdentity,
) -> Result<TlsSettings, cwmp_client::Error> {
    let item = |name: &str| {
        model
            .item_value(store.backend(), name)
            .filter(|v| !v.trim().is_empty())
    };
    let mut tls = TlsSettings::new();
    for ca in ["acs-server-ca-certificate-1", "acs-server-ca-certificate-2"] {
        if let Some(pem) = item(ca) {
            tls = tls.with_ca_pem(&pem)?;
        }
    }
    let identity = match (item("acs-client-certificate"), item("acs-client-key")) {
        (Some(cert), Some(key)) => ClientIdentity::from_pem(&cert, &key)?,
        _ => default_identity.clone(),
    };
    Ok(tls.with_identity(identity))
}

/// Where `admin`/`dhcp` send a request: to the running daemon, or (when none runs) straight
/// to the stored state under the state-directory lock.
pub fn local_request(cfg: &Config, req: Request) -> Result<String, String> {
    let dir = &cfg.state_dir;
    state::ensure_dir(dir).map_err(|e| format!("state directory {}: {e}", dir.display()))?;
    let lock = StateLock::try_acquire(dir)
        .map_err(|e| format!("state directory {}: {e}", dir.display()))?;
    let Some(_lock) = lock else {
        // The daemon holds the lock: talk to it.
        let r = control::call(&state::control_socket(dir), &req)
            .map_err(|e| format!("talking to the running cpe-agent: {e}"))?;
        return if r.ok { Ok(r.output) } else { Err(r.error) };
    };
    let model = factory_model(cfg)?;
    let (mut store, _) = phone::open_store(cfg, &model)?;
    let changed = match req {
        Request::Set { items } => phone::set_items(&mut store, &model, &items)?,
        Request::Get { item } => return phone::get_item(&store, &model, &item),
        Request::List => return Ok(phone::list_items(&store, &model)),
        Request::Dhcp { hex } => {
            let opt = crate::dhcp::parse_hex(&hex).map_err(|e| format!("option 43: {e}"))?;
            phone::apply_option43(&mut store, &model, &opt)?
        }
        Request::DhcpUrl { option, url } => {
            return dhcp_url(&mut store, &model, dir, option, &url)
                .map(|(_, text)| format!("{text} (used at the next start)"))
        }
        Request::Provision => {
            return Err(
                "the phone is not running: a provisioning check needs the running cpe-agent \
                 (it checks at every start)"
                    .into(),
            )
        }
    };
    // The change is stored; the next start tells the engine (4 VALUE CHANGE if notified).
    state::add_offline_changes(dir, &changed.params)
        .map_err(|e| format!("recording the change for the ACS: {e}"))?;
    Ok(changed.report)
}

/// The Desk Phone model with the configuration file's `[items]` as its factory defaults.
fn factory_model(cfg: &Config) -> Result<DeskPhoneModel, String> {
    DeskPhoneModel::builtin()
        .with_factory_defaults(&cfg.items)
        .map_err(|f| format!("configuration [items]: {}", f.message))
}

/// A provisioning URL from the DHCP hook: kept when `auto-provision-dhcp-option` selects
/// `option` (true: a check should run), ignored otherwise.
fn dhcp_url(
    store: &mut OcmsStore,
    model: &DeskPhoneModel,
    dir: &std::path::Path,
    option: u8,
    url: &str,
) -> Result<(bool, String), String> {
    let selected = model
        .item_value(store.backend(), "auto-provision-dhcp-option")
        .unwrap_or_default();
    if selected != option.to_string() {
        return Ok((
            false,
            format!("DHCP option {option} ignored: auto-provision-dhcp-option is {selected}\n"),
        ));
    }
    // Option 66 is the "TFTP server name" (RFC 2132 §9.4): a bare server name (what DHCP
    // clients such as busybox udhcpc pass on; they refuse a URL there as "bad") means
    // `tftp://NAME/`, the device file `<mac>.cfg` on that server.
    let url = url.trim();
    let bare;
    let url = if option == 66 && !url.is_empty() && !url.contains("://") {
        bare = format!("tftp://{url}/");
        bare.as_str()
    } else {
        url
    };
    let probe = url.replace("$mac", "mac").replace("$input", "input");
    if !url.is_empty() && deskphone_datamodel::provisioning_url_scheme(&probe).is_none() {
        return Err(format!(
            "DHCP option {option}: not a tftp://, ftp://, http:// or https:// URL"
        ));
    }
    crate::provision::worker::save_dhcp_url(dir, url)
        .map_err(|e| format!("keeping the DHCP provisioning URL: {e}"))?;
    Ok((
        !url.is_empty(),
        if url.is_empty() {
            format!("DHCP option {option}: no provisioning URL\n")
        } else {
            format!(
                "DHCP option {option}: provisioning URL {}\n",
                crate::trace::redact_url(url)
            )
        },
    ))
}
