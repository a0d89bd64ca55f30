//! Embedding with your own data model and your own configuration: a two-valve irrigation
//! controller whose TR-069 parameters are a TOML table (`custom_store.toml`) and whose values
//! live in the device's own JSON configuration file, not in the Desk Phone's store.
//!
//! ```text
//! cargo run -p cwmp-examples --bin custom_store -- http://127.0.0.1:7547/ /tmp/valve.json
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use cwmp_client::{Client, ClientConfig, ClientHandle, Device};
use cwmp_engine::{BootReason, DownloadRequest, PersistentState};
use cwmp_model::{BackendError, ItemBackend, ItemBatch, NoLiveValues, SchemaStore};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The data model: parameter names, types, access and where each value is kept.
pub const TABLE: &str = include_str!("custom_store.toml");

/// The device's configuration: a JSON object of `item` keys to lexical values.
pub struct JsonConfig {
    path: PathBuf,
    values: BTreeMap<String, String>,
}

impl JsonConfig {
    /// Reads the file (a missing file is an empty configuration: every value at its default).
    pub fn open(path: PathBuf) -> Result<JsonConfig, BackendError> {
        let values = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| BackendError::Corrupt(format!("{}: {e}", path.display())))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => return Err(e.into()),
        };
        Ok(JsonConfig { path, values })
    }
}

impl ItemBackend for JsonConfig {
    fn get(&self, key: &str) -> Option<String> {
        self.values.get(key).cloned()
    }

    /// All of a SetParameterValues or none: the new file replaces the old atomically.
    fn commit(&mut self, batch: ItemBatch) -> Result<(), BackendError> {
        let mut next = self.values.clone();
        for (key, value) in batch {
            match value {
                Some(v) => next.insert(key, v),
                None => next.remove(&key),
            };
        }
        let json = serde_json::to_vec_pretty(&next).map_err(std::io::Error::other)?;
        cwmp_model::atomic::write_atomic(&self.path, &json, 0o600)?;
        self.values = next;
        Ok(())
    }

    fn keys(&self) -> Vec<String> {
        self.values.keys().cloned().collect()
    }
}

/// The engine's state kept in memory; downloads refused.
struct Valve(PersistentState);

impl<S: cwmp_model::ParameterStore> Device<S> for Valve {
    fn persist(&mut self, state: &PersistentState) -> std::io::Result<()> {
        self.0 = state.clone();
        Ok(())
    }

    fn download(&mut self, request: DownloadRequest, handle: &ClientHandle) {
        let now = cwmp_client::system_wall_clock();
        let fault = cwmp_model::Fault::new(cwmp_model::FaultCode::FileTransferFailure);
        handle.transfer_complete(request.command_key, Some(fault), now, now);
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .unwrap_or_else(|| "http://127.0.0.1:7547/".into());
    let file = PathBuf::from(args.next().unwrap_or_else(|| "valve.json".into()));

    let schema = cwmp_model::table::schema_from_toml(TABLE)?;
    let mut config = JsonConfig::open(file)?;
    config.commit(vec![("acs-url".into(), Some(url))])?;
    let mut store = SchemaStore::open(schema, config, Box::new(NoLiveValues))?;
    let mut valve = Valve(PersistentState::new());
    let (state, boot) = (valve.0.clone(), BootReason::PowerOn);
    let exit = Client::new(ClientConfig::default(), state, boot, 7)?.run(&mut store, &mut valve)?;
    log::info!("agent stopped: {exit:?} (a real device restarts on Reboot / FactoryReset)");
    Ok(())
}
