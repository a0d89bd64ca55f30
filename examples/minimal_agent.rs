//! The smallest useful embedding: the Desk Phone data model over an **in-memory** store, the
//! blocking [`Client`], and a [`Device`] that keeps the engine's state in memory.
//!
//! ```text
//! cargo run -p cwmp-examples --bin minimal_agent -- http://127.0.0.1:7547/
//! ```
//!
//! A real device writes `PersistentState` to flash atomically in `persist` and hands it back
//! to `Client::new` at boot; here a reboot just loops with what was kept in memory.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use cwmp_client::{Client, ClientConfig, ClientHandle, Device, Exit};
use cwmp_engine::{BootReason, DownloadRequest, PersistentState};
use cwmp_model::{FaultCode, MemoryBackend, SchemaStore};
use deskphone_datamodel::{DeskPhoneLive, DeskPhoneModel};

/// The device: persists in memory, refuses downloads.
struct Phone {
    state: PersistentState,
}

impl<S: cwmp_model::ParameterStore> Device<S> for Phone {
    fn persist(&mut self, state: &PersistentState) -> std::io::Result<()> {
        self.state = state.clone();
        Ok(())
    }

    fn download(&mut self, request: DownloadRequest, handle: &ClientHandle) {
        let now = cwmp_client::system_wall_clock();
        let fault = cwmp_model::Fault::new(FaultCode::FileTransferFailure);
        handle.transfer_complete(request.command_key, Some(fault), now, now);
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "http://127.0.0.1:7547/".into());

    // The schema is data; the items (keyed by OCMS name) start with the ACS URL.
    let model = DeskPhoneModel::builtin();
    let items = MemoryBackend::with_items([("acs-server-address", url.as_str())]);
    let mut phone = Phone {
        state: PersistentState::new(),
    };
    loop {
        // A "boot": fresh live values (UpTime from now), the state kept across the reboot.
        let live = DeskPhoneLive::new("00:1A:E8:A1:B2:C3")?;
        let mut store =
            SchemaStore::with_backend(model.schema().clone(), items.clone(), Box::new(live));
        let mut client = Client::new(
            ClientConfig::default(),
            phone.state.clone(),
            BootReason::PowerOn,
            cwmp_client::os_seed(),
        )?;
        match client.run(&mut store, &mut phone)? {
            Exit::Reboot { command_key } => log::info!("reboot ({command_key})"),
            Exit::FactoryReset => log::info!("factory reset"),
            _ => return Ok(()),
        }
    }
}
