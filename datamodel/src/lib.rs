//! The Unify OpenScape Desk Phone CP's TR-069 data model, as data, and the file store that
//! keeps its configuration items.
//!
//! * [`DeskPhoneModel`]: the table `deskphone.toml` (embedded, [`BUILTIN_TABLE`]) loaded into a
//!   [`cwmp_model::Schema`] plus the catalogue of OCMS configuration items ([`ItemDef`]):
//!   which TR-069 parameters each item backs, its type, default and secrecy, and
//!   [`DeskPhoneModel::validate_item`], the same validation a CWMP SetParameterValues applies
//!   (TR-069 Annex A.3.2.1, Annex A.2).
//! * [`FileBackend`]: a [`cwmp_model::ItemBackend`] that keeps every item, and the CWMP
//!   store's reserved `cwmp:` keys, in one TOML file replaced atomically (temp file, fsync,
//!   rename, directory fsync).
//! * [`OcmsStore`] = `SchemaStore<FileBackend>`, opened with [`open_store`]; the phone's
//!   [`ParameterStore`](cwmp_model::ParameterStore).
//! * [`DeskPhoneLive`]: the phone's computed parameters (`SerialNumber` derived from the MAC
//!   address, `UpTime`, `DeviceStatus`).
//!
//! The table's format, every design decision and every deviation from the Broadband Forum
//! definitions (TR-181 Device:1, TR-104 VoiceService:1) or from the product page are described
//! in the crate's `README.md`.
//!
//! ```
//! use deskphone_datamodel::DeskPhoneModel;
//!
//! let model = DeskPhoneModel::builtin();
//! // Items are the key of the phone's configuration; they validate like a CWMP set would.
//! assert_eq!(model.validate_item("reg-ttl", "0600").unwrap(), "600");
//! assert_eq!(model.validate_item("reg-ttl", "59").unwrap_err().code.code(), 9007);
//! assert_eq!(
//!     model.param_for_item("reg-ttl").unwrap().name,
//!     "Device.Services.VoiceService.1.VoiceProfile.1.SIP.RegisterExpires"
//! );
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod error;
mod file_backend;
mod live;
mod model;
mod ocms;
mod table;

pub use error::Error;
pub use file_backend::FileBackend;
pub use live::{
    serial_number_from_mac, DeskPhoneLive, DeviceStatus, DeviceStatusHandle, InvalidMacAddress,
};
pub use model::{
    provisioning_url_scheme, DeskPhoneModel, ItemDef, ItemFormat, RowInfo, BUILTIN_TABLE,
    TABLE_FORMAT,
};
pub use ocms::{
    apply_items, apply_items_as, factory_reset, live_for_backend, open_phone, open_store, OcmsStore,
};
pub use table::Origin;
