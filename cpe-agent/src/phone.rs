//! The phone's local configuration operations, shared by the running daemon (run on the
//! driver's thread through the control socket) and by `admin`/`dhcp` when the daemon is not
//! running (run directly on the store, under the state-directory lock).
//!
//! Local changes (the phone's admin menu and web-based management, its DHCP client) win over
//! what the ACS set: they write the same OCMS items the ACS writes through TR-069, so the
//! last write wins, and the ACS hears of it as `4 VALUE CHANGE` when the parameter's
//! notification attribute is on (the store reports the change to the engine; TR-069 Annex A.3.3.1).

use crate::config::Config;
use crate::dhcp::Option43;
use crate::netinfo;
use crate::state::ITEMS_FILE;
use cwmp_model::{ParameterStore, SetError, ValueOrigin};
use deskphone_datamodel::{apply_items, open_phone, DeskPhoneModel, DeviceStatusHandle, OcmsStore};

/// The parameter that holds the ACS URL.
pub const URL_PARAM: &str = "Device.ManagementServer.URL";
/// The ProvisioningCode parameter (no OCMS item: stored by the CWMP store itself).
pub const PROVISIONING_CODE_PARAM: &str = "Device.DeviceInfo.ProvisioningCode";
/// What `list` prints instead of a non-empty secret.
pub const MASK: &str = "********";

/// Open the phone's store in the configuration's state directory. On first start (no items
/// file yet) the configuration's `[items]` are written first as factory defaults, so they
/// are what the phone starts with (and `mac-address` from the file gives the serial number).
/// The caller holds the state-directory lock.
pub fn open_store(
    cfg: &Config,
    model: &DeskPhoneModel,
) -> Result<(OcmsStore, DeviceStatusHandle), String> {
    let first_start = !cfg.state_dir.join(ITEMS_FILE).exists();
    if first_start {
        let (mut store, _) = open_phone(&cfg.state_dir, model, None).map_err(|e| e.to_string())?;
        write_factory_items(&mut store, cfg, model)?;
        log::info!("first start: factory defaults from the configuration file written");
    }
    open_phone(&cfg.state_dir, model, None).map_err(|e| e.to_string())
}

/// Write the configuration file's `[items]` (after a factory reset or on first start).
pub fn write_factory_items(
    store: &mut OcmsStore,
    cfg: &Config,
    model: &DeskPhoneModel,
) -> Result<(), String> {
    if cfg.items.is_empty() {
        return Ok(());
    }
    apply_items(store, model, &cfg.items)
        .map(|_| ())
        .map_err(|e| set_error_text(&e))
}

/// Refresh `ipaddress`, `default-mask` and `default-gw` from the host's route to the
/// current ACS. (`ConnectionRequestURL` is the client's: it writes it when its listener
/// opens.) Failures are logged: the phone runs on with the old values.
pub fn refresh_host_network(store: &mut OcmsStore, model: &DeskPhoneModel) {
    let url = model
        .item_value(store.backend(), "acs-server-address")
        .unwrap_or_default();
    let Some(net) = netinfo::for_acs(&url) else {
        log::info!("no route to the ACS: LAN addresses left as they are");
        return;
    };
    let mut items = net.items();
    // Only write what differs, so an unchanged network does not rewrite the item file.
    items.retain(|(k, v)| model.item_value(store.backend(), k).as_deref() != Some(v.as_str()));
    if items.is_empty() {
        return;
    }
    if let Err(e) = apply_items(store, model, &items) {
        log::warn!("updating the LAN addresses: {}", set_error_text(&e));
    }
}

/// A refused set as one line per item: `item: 9007 message`.
pub fn set_error_text(e: &SetError) -> String {
    match e {
        SetError::Parameters(faults) => faults
            .iter()
            .map(|f| format!("{}: {} {}", f.name, f.code.code(), f.message))
            .collect::<Vec<_>>()
            .join("\n"),
        SetError::Fault(f) => format!("{} {}", f.code.code(), f.message),
        #[allow(unreachable_patterns)]
        other => format!("{other:?}"),
    }
}

/// What a local write changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LocalChange {
    /// The TR-069 parameters whose value changed (for the engine's notification).
    pub params: Vec<String>,
    /// For the operator: one line per item that changed, `item: old → new` (secrets
    /// masked), or `no change`.
    pub report: String,
}

fn shown(model: &DeskPhoneModel, item: &str, value: &str) -> String {
    let secret = model.item(item).is_some_and(|i| i.is_secret());
    if secret && !value.is_empty() {
        MASK.to_owned()
    } else {
        format!("{value:?}")
    }
}

/// `admin set` (and the phone's other local ways in: DHCP, Cloud Deployment): validate and
/// write items, all or nothing. Items only the configuration file may set (see
/// [`DeskPhoneModel::is_locally_writable`]) are refused here, the one place every local
/// write goes through.
pub fn set_items(
    store: &mut OcmsStore,
    model: &DeskPhoneModel,
    items: &[(String, String)],
) -> Result<LocalChange, String> {
    set_items_as(store, model, items, ValueOrigin::Local)
}

/// [`set_items`] with the origin to record ([`ValueOrigin::Local`] for the admin command, the
/// web page and TR-064; [`ValueOrigin::Provisioning`] for Cloud Deployment and provisioning
/// files).
pub fn set_items_as(
    store: &mut OcmsStore,
    model: &DeskPhoneModel,
    items: &[(String, String)],
    origin: ValueOrigin,
) -> Result<LocalChange, String> {
    for (name, _) in items {
        if model.item(name).is_none() {
            return Err(format!(
                "{name}: not an item of the Desk Phone CP data model"
            ));
        }
        if !model.is_locally_writable(name) {
            return Err(format!(
                "{name}: an identity or status item; only the configuration file's [items] \
                 set it (then a factory reset, or a fresh state directory)"
            ));
        }
    }
    let before: Vec<String> = items
        .iter()
        .map(|(n, _)| model.item_value(store.backend(), n).unwrap_or_default())
        .collect();
    let params = deskphone_datamodel::apply_items_as(store, model, items, origin)
        .map_err(|e| set_error_text(&e))?;
    if params.iter().any(|p| p == URL_PARAM) {
        refresh_host_network(store, model);
    }
    let mut report = String::new();
    for ((name, _), old) in items.iter().zip(before) {
        let new = model.item_value(store.backend(), name).unwrap_or_default();
        if new != old {
            report.push_str(&format!(
                "{name}: {} → {}\n",
                shown(model, name, &old),
                shown(model, name, &new)
            ));
        }
    }
    if report.is_empty() {
        report.push_str("no change\n");
    }
    Ok(LocalChange { params, report })
}

/// `admin get`: the item's value (stored, else the data model's default).
///
/// Decision: secrets are printed in full here (it is the local administrator reading back
/// what was set, through a socket or state directory only the daemon's user can open);
/// `list`, an overview that ends up pasted into tickets, masks them.
pub fn get_item(store: &OcmsStore, model: &DeskPhoneModel, name: &str) -> Result<String, String> {
    if model.item(name).is_none() {
        return Err(format!(
            "{name}: not an item of the Desk Phone CP data model"
        ));
    }
    Ok(model.item_value(store.backend(), name).unwrap_or_default())
}

/// `admin list`: every item as a TOML line `item = "value"`, secrets masked.
pub fn list_items(store: &OcmsStore, model: &DeskPhoneModel) -> String {
    let mut out = String::new();
    for it in model.items() {
        let value = model
            .item_value(store.backend(), it.name())
            .unwrap_or_default();
        let shown = if it.is_secret() && !value.is_empty() {
            MASK.to_owned()
        } else {
            value
        };
        out.push_str(&format!("{} = {}\n", it.name(), toml::Value::String(shown)));
    }
    out
}

/// `dhcp --option43`: apply a parsed option 43 (sub-options 1, 3, 4 are items; 2 is the
/// ProvisioningCode). Everything is validated before anything is written.
pub fn apply_option43(
    store: &mut OcmsStore,
    model: &DeskPhoneModel,
    opt: &Option43,
) -> Result<LocalChange, String> {
    let mut items = Vec::new();
    if let Some(url) = &opt.acs_url {
        items.push(("acs-server-address".to_owned(), url.clone()));
    }
    if let Some(v) = opt.retry_min_wait_interval {
        items.push(("acs-retry-min-wait-interval".to_owned(), v.to_string()));
    }
    if let Some(v) = opt.retry_interval_multiplier {
        items.push(("acs-retry-interval-multiplier".to_owned(), v.to_string()));
    }
    for (name, value) in &items {
        model
            .validate_item(name, value)
            .map_err(|f| format!("{name}: {} {}", f.code.code(), f.message))?;
    }
    // The ProvisioningCode first: it is the only write that can still be refused (type and
    // length), and the items are known to be valid, so nothing is half-applied.
    let mut code_line = String::new();
    if let Some(code) = &opt.provisioning_code {
        let old = match store.internal_value(PROVISIONING_CODE_PARAM) {
            Some(cwmp_model::Value::String(s)) => s,
            _ => String::new(),
        };
        store
            .set_internal(PROVISIONING_CODE_PARAM, code)
            .map_err(|f| format!("ProvisioningCode: {} {}", f.code.code(), f.message))?;
        if &old != code {
            code_line = format!("ProvisioningCode: {old:?} → {code:?}\n");
        }
    }
    let mut change = if items.is_empty() {
        LocalChange {
            params: Vec::new(),
            report: String::new(),
        }
    } else {
        set_items_as(store, model, &items, ValueOrigin::Provisioning)?
    };
    if !code_line.is_empty() {
        if change.report == "no change\n" {
            change.report.clear();
        }
        change.report.insert_str(0, &code_line);
    }
    if change.report.is_empty() {
        change.report.push_str("no change\n");
    }
    Ok(change)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(dir: &std::path::Path) -> Config {
        Config::parse(
            &format!(
                "state-dir = {:?}\n[items]\nmac-address = \"00:1A:E8:00:00:01\"\nacs-password = \"pw\"\n",
                dir.to_str().unwrap()
            ),
            &DeskPhoneModel::builtin(),
        )
        .unwrap()
    }

    #[test]
    fn first_start_defaults_then_state_wins() {
        let d = tempfile::tempdir().unwrap();
        let m = DeskPhoneModel::builtin();
        let c = cfg(d.path());
        let (mut s, _) = open_store(&c, &m).unwrap();
        assert_eq!(
            s.internal_value("Device.DeviceInfo.SerialNumber"),
            Some(cwmp_model::Value::String("001AE8000001".into()))
        );
        set_items(&mut s, &m, &[("reg-ttl".into(), "600".into())]).unwrap();
        assert!(set_items(&mut s, &m, &[("reg-ttl".into(), "5".into())])
            .unwrap_err()
            .contains("9007"));
        drop(s);
        let (s, _) = open_store(&c, &m).unwrap();
        assert_eq!(get_item(&s, &m, "reg-ttl").unwrap(), "600");
        let list = list_items(&s, &m);
        assert!(list.contains("acs-password = \"********\""));
        assert!(list.contains("reg-ttl = \"600\""));
        assert!(!list.contains("\"pw\""));
        assert!(get_item(&s, &m, "nope").is_err());
    }

    #[test]
    fn option43_all_or_nothing() {
        let d = tempfile::tempdir().unwrap();
        let m = DeskPhoneModel::builtin();
        let (mut s, _) = open_store(&cfg(d.path()), &m).unwrap();
        let bad = Option43 {
            acs_url: Some("http://127.0.0.1:1/".into()),
            provisioning_code: Some("x".repeat(100)),
            ..Option43::default()
        };
        assert!(apply_option43(&mut s, &m, &bad).is_err());
        assert_eq!(get_item(&s, &m, "acs-server-address").unwrap(), "");
        let good = Option43 {
            acs_url: Some("http://127.0.0.1:1/".into()),
            provisioning_code: Some("PC1".into()),
            retry_min_wait_interval: Some(7),
            retry_interval_multiplier: Some(3000),
        };
        apply_option43(&mut s, &m, &good).unwrap();
        assert_eq!(
            get_item(&s, &m, "acs-server-address").unwrap(),
            "http://127.0.0.1:1/"
        );
        assert_eq!(
            get_item(&s, &m, "acs-retry-min-wait-interval").unwrap(),
            "7"
        );
        assert_eq!(
            s.internal_value(PROVISIONING_CODE_PARAM),
            Some(cwmp_model::Value::String("PC1".into()))
        );
        assert_eq!(get_item(&s, &m, "ipaddress").unwrap(), "127.0.0.1");
    }
}
