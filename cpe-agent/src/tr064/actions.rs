//! The actions: what each one reads from or writes to the phone's one parameter store.
//!
//! Reads run as one store job. Writes are turned into a [`Change`] (OCMS items and the two
//! stored-only parameters), validated here exactly like a CWMP set ([`DeskPhoneModel::
//! validate_item`]), and applied as one store job (`apply_items`: one atomic commit, reported
//! to the engine as a local change, so notified parameters reach the ACS as `4 VALUE CHANGE`,
//! and a new ACS URL makes the phone `0 BOOTSTRAP` there). Inside a transaction the change is
//! kept until `ConfigurationFinished` (see `mod.rs`).
//!
//! Mapping decisions (the phone is a SIP telephone, not a gateway):
//! * X_VoIP's one account (index 0; any other index is 713 SpecifiedArrayIndexInvalid) is the
//!   phone's one SIP profile: Registrar = `registrar-addr`, Number = `e164`, Username =
//!   `sip-user-id`, Password = `sip-pwd` (never returned: read back as empty),
//!   OutboundProxy = `sgnl-gateway-addr-user`. The phone has no SIP STUN server, so
//!   `NewVoIPSTUNServer` reads empty and a non-empty value is refused (600).
//! * `GetInfo` of X_VoIP returns AVM's two values with the phone's fixed facts (no T.38,
//!   `autocompress`).
//! * Passwords (ACS, connection request, SIP, admin) are write-only.

use super::services::ActionDef;
use super::UpnpFault;
use crate::phone;
use cwmp_model::{FaultCode, ParameterStore};
use deskphone_datamodel::{DeskPhoneModel, OcmsStore};

/// Parameters that are stored by the CWMP store itself (no OCMS item).
pub const PROVISIONING_CODE: &str = "Device.DeviceInfo.ProvisioningCode";
/// See [`PROVISIONING_CODE`].
pub const PERIODIC_INFORM_TIME: &str = "Device.ManagementServer.PeriodicInformTime";

/// A validated configuration change.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Change {
    /// OCMS items, canonical values.
    pub items: Vec<(String, String)>,
    /// Stored-only parameters (ProvisioningCode, PeriodicInformTime).
    pub internal: Vec<(String, String)>,
}

impl std::fmt::Debug for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Values may be passwords.
        f.debug_struct("Change")
            .field(
                "items",
                &self.items.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .field(
                "internal",
                &self.internal.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Change {
    /// Merge a later change into this one (a later value for the same item wins).
    pub fn merge(&mut self, later: Change) {
        for (k, v) in later.items {
            self.items.retain(|(n, _)| *n != k);
            self.items.push((k, v));
        }
        for (k, v) in later.internal {
            self.internal.retain(|(n, _)| *n != k);
            self.internal.push((k, v));
        }
    }

    /// Nothing to write.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty() && self.internal.is_empty()
    }

    /// Apply on the store: the stored-only parameters first (validated already, so only
    /// storage can fail), then the items in one atomic commit. Returns the changed
    /// parameters.
    pub fn apply(
        &self,
        store: &mut OcmsStore,
        model: &DeskPhoneModel,
    ) -> Result<Vec<String>, String> {
        for (name, value) in &self.internal {
            store
                .set_internal(name, value)
                .map_err(|f| format!("{name}: {} {}", f.code.code(), f.message))?;
        }
        if self.items.is_empty() {
            return Ok(Vec::new());
        }
        phone::set_items(store, model, &self.items).map(|c| c.params)
    }
}

/// A read job: the out arguments, read on the store.
pub type ReadJob =
    Box<dyn FnOnce(&mut OcmsStore, &DeskPhoneModel) -> Vec<(&'static str, String)> + Send>;

/// The effect of an action.
pub enum Outcome {
    /// Out arguments, read on the store.
    Read(ReadJob),
    /// A change to apply (or to keep in the transaction); no out arguments.
    Write(Change),
}

impl std::fmt::Debug for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Read(_) => f.write_str("Read(<job>)"),
            Outcome::Write(c) => f.debug_tuple("Write").field(c).finish(),
        }
    }
}

fn arg<'a>(args: &'a [(String, String)], name: &str) -> &'a str {
    args.iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

/// Validate one item like a CWMP set; 9006 (not of the type) → 600, 9007 (a constraint) → 601.
fn item(
    model: &DeskPhoneModel,
    name: &str,
    value: &str,
    change: &mut Change,
) -> Result<(), UpnpFault> {
    match model.validate_item(name, value) {
        Ok(canonical) => {
            change.items.push((name.to_owned(), canonical));
            Ok(())
        }
        Err(f) => Err(value_fault(f.code, &f.message)),
    }
}

fn value_fault(code: FaultCode, message: &str) -> UpnpFault {
    if code == FaultCode::InvalidParameterValue {
        UpnpFault::new(601, format!("Argument Value Out of Range: {message}"))
    } else {
        UpnpFault::new(600, format!("Argument Value Invalid: {message}"))
    }
}

fn internal(
    model: &DeskPhoneModel,
    param: &str,
    value: &str,
    change: &mut Change,
) -> Result<(), UpnpFault> {
    let def = model
        .schema()
        .param(param)
        .ok_or_else(|| UpnpFault::new(501, "Action Failed"))?;
    let v = def
        .ty
        .parse_with_reason(value, None)
        .map_err(|e| value_fault(e.code, &format!("{param}: {}", e.reason)))?;
    change.internal.push((param.to_owned(), v.to_lexical()));
    Ok(())
}

fn account_index(args: &[(String, String)]) -> Result<(), UpnpFault> {
    match arg(args, "NewVoIPAccountIndex").trim().parse::<u32>() {
        Ok(0) => Ok(()),
        Ok(_) => Err(UpnpFault::new(713, "SpecifiedArrayIndexInvalid")),
        Err(_) => Err(UpnpFault::new(
            600,
            "Argument Value Invalid: NewVoIPAccountIndex",
        )),
    }
}

/// UPnP boolean out of a stored `true`/`false`.
fn upnp_bool(v: &str) -> String {
    if v == "true" || v == "1" { "1" } else { "0" }.to_owned()
}

fn param(store: &mut OcmsStore, name: &str) -> String {
    store
        .internal_value(name)
        .map(|v| v.to_lexical())
        .unwrap_or_default()
}

fn it(store: &OcmsStore, model: &DeskPhoneModel, name: &str) -> String {
    model.item_value(store.backend(), name).unwrap_or_default()
}

/// The facts an action needs from the server (not the store).
#[derive(Debug, Clone)]
pub struct Context {
    /// The HTTPS port (GetSecurityPort); 0 when HTTPS is off.
    pub security_port: u16,
    /// The device log (GetDeviceLog, GetInfo's NewDeviceLog).
    pub device_log: String,
    /// The authenticated user name (X_AVM-DE_GetCurrentUser).
    pub user: String,
}

/// What `service:action` with `args` does. Control actions (DeviceConfig: Reboot,
/// FactoryReset, the transaction actions) are handled by the server and never reach here.
pub fn plan(
    service: &str,
    action: &ActionDef,
    args: &[(String, String)],
    model: &DeskPhoneModel,
    ctx: &Context,
) -> Result<Outcome, UpnpFault> {
    let mut c = Change::default();
    let read = |f: fn(&mut OcmsStore, &DeskPhoneModel, &Context) -> Vec<(&'static str, String)>| {
        let ctx = ctx.clone();
        Ok(Outcome::Read(Box::new(move |s, m| f(s, m, &ctx))))
    };
    match (service, action.name) {
        ("DeviceInfo", "GetInfo") => read(|s, _, ctx| {
            vec![
                (
                    "NewManufacturerName",
                    param(s, "Device.DeviceInfo.Manufacturer"),
                ),
                (
                    "NewManufacturerOUI",
                    param(s, "Device.DeviceInfo.ManufacturerOUI"),
                ),
                ("NewModelName", param(s, "Device.DeviceInfo.ModelName")),
                ("NewDescription", param(s, "Device.DeviceInfo.Description")),
                (
                    "NewProductClass",
                    param(s, "Device.DeviceInfo.ProductClass"),
                ),
                (
                    "NewSerialNumber",
                    param(s, "Device.DeviceInfo.SerialNumber"),
                ),
                (
                    "NewSoftwareVersion",
                    param(s, "Device.DeviceInfo.SoftwareVersion"),
                ),
                (
                    "NewHardwareVersion",
                    param(s, "Device.DeviceInfo.HardwareVersion"),
                ),
                ("NewSpecVersion", "1.0".to_owned()),
                ("NewProvisioningCode", param(s, PROVISIONING_CODE)),
                ("NewUpTime", param(s, "Device.DeviceInfo.UpTime")),
                ("NewDeviceLog", ctx.device_log.clone()),
            ]
        }),
        ("DeviceInfo", "GetSecurityPort") => {
            read(|_, _, ctx| vec![("NewSecurityPort", ctx.security_port.to_string())])
        }
        ("DeviceInfo", "GetDeviceLog") => {
            read(|_, _, ctx| vec![("NewDeviceLog", ctx.device_log.clone())])
        }
        ("DeviceInfo", "SetProvisioningCode") => {
            internal(
                model,
                PROVISIONING_CODE,
                arg(args, "NewProvisioningCode"),
                &mut c,
            )?;
            Ok(Outcome::Write(c))
        }
        ("DeviceConfig", "GetPersistentData") => {
            read(|s, m, _| vec![("NewPersistentData", it(s, m, "tr064-persistent-data"))])
        }
        ("DeviceConfig", "SetPersistentData") => {
            item(
                model,
                "tr064-persistent-data",
                arg(args, "NewPersistentData"),
                &mut c,
            )?;
            Ok(Outcome::Write(c))
        }
        ("ManagementServer", "GetInfo") => read(|s, m, _| {
            vec![
                ("NewURL", it(s, m, "acs-server-address")),
                ("NewUsername", it(s, m, "acs-username")),
                (
                    "NewPeriodicInformEnable",
                    upnp_bool(&it(s, m, "acs-periodic-inform-enabled")),
                ),
                (
                    "NewPeriodicInformInterval",
                    it(s, m, "acs-periodic-inform-interval"),
                ),
                ("NewPeriodicInformTime", param(s, PERIODIC_INFORM_TIME)),
                (
                    "NewParameterKey",
                    param(s, "Device.ManagementServer.ParameterKey"),
                ),
                ("NewConnectionRequestURL", it(s, m, "acs-request-address")),
                (
                    "NewConnectionRequestUsername",
                    it(s, m, "acs-request-username"),
                ),
                (
                    "NewUpgradesManaged",
                    upnp_bool(&it(s, m, "acs-upgrades-managed")),
                ),
            ]
        }),
        ("ManagementServer", "SetManagementServerURL") => {
            item(model, "acs-server-address", arg(args, "NewURL"), &mut c)?;
            Ok(Outcome::Write(c))
        }
        ("ManagementServer", "SetManagementServerUsername") => {
            item(model, "acs-username", arg(args, "NewUsername"), &mut c)?;
            Ok(Outcome::Write(c))
        }
        ("ManagementServer", "SetManagementServerPassword") => {
            item(model, "acs-password", arg(args, "NewPassword"), &mut c)?;
            Ok(Outcome::Write(c))
        }
        ("ManagementServer", "SetPeriodicInform") => {
            item(
                model,
                "acs-periodic-inform-enabled",
                arg(args, "NewPeriodicInformEnable"),
                &mut c,
            )?;
            item(
                model,
                "acs-periodic-inform-interval",
                arg(args, "NewPeriodicInformInterval"),
                &mut c,
            )?;
            internal(
                model,
                PERIODIC_INFORM_TIME,
                arg(args, "NewPeriodicInformTime"),
                &mut c,
            )?;
            Ok(Outcome::Write(c))
        }
        ("ManagementServer", "SetConnectionRequestAuthentication") => {
            item(
                model,
                "acs-request-username",
                arg(args, "NewConnectionRequestUsername"),
                &mut c,
            )?;
            item(
                model,
                "acs-request-password",
                arg(args, "NewConnectionRequestPassword"),
                &mut c,
            )?;
            Ok(Outcome::Write(c))
        }
        ("ManagementServer", "SetUpgradeManagement") => {
            item(
                model,
                "acs-upgrades-managed",
                arg(args, "NewUpgradesManaged"),
                &mut c,
            )?;
            Ok(Outcome::Write(c))
        }
        ("LANConfigSecurity", "GetInfo") => read(|_, _, _| {
            vec![
                // The admin-password item's max_length.
                ("NewMaxCharsPassword", "64".to_owned()),
                ("NewMinCharsPassword", "1".to_owned()),
                (
                    "NewAllowedCharsPassword",
                    "0-9 A-Z a-z and the printable ASCII symbols".to_owned(),
                ),
            ]
        }),
        ("LANConfigSecurity", "SetConfigPassword") => {
            let pw = arg(args, "NewPassword");
            if pw.is_empty() {
                // Decision: the password cannot be removed over TR-064 (that would lock
                // every TR-064 client out); `cpe-agent admin set admin-password ""` can.
                return Err(UpnpFault::new(
                    600,
                    "Argument Value Invalid: the password must not be empty",
                ));
            }
            item(model, "admin-password", pw, &mut c)?;
            Ok(Outcome::Write(c))
        }
        ("LANConfigSecurity", "X_AVM-DE_GetCurrentUser") => read(|_, _, ctx| {
            vec![
                ("NewX_AVM-DE_CurrentUsername", ctx.user.clone()),
                (
                    "NewX_AVM-DE_CurrentUserRights",
                    "<rights><path>BoxAdmin</path><access>readwrite</access></rights>".to_owned(),
                ),
            ]
        }),
        ("LANConfigSecurity", "X_AVM-DE_GetAnonymousLogin") => {
            // The phone never allows anonymous access to the protected actions.
            read(|_, _, _| vec![("NewX_AVM-DE_AnonymousLoginEnabled", "0".to_owned())])
        }
        ("Time", "GetInfo") => read(|s, m, _| {
            let now = time::OffsetDateTime::now_utc()
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default();
            vec![
                ("NewNTPServer1", it(s, m, "ntp-server-1")),
                ("NewNTPServer2", it(s, m, "ntp-server-2")),
                ("NewCurrentLocalTime", now),
                ("NewLocalTimeZone", "+00:00".to_owned()),
                ("NewLocalTimeZoneName", "UTC".to_owned()),
            ]
        }),
        ("Time", "SetNTPServers") => {
            item(model, "ntp-server-1", arg(args, "NewNTPServer1"), &mut c)?;
            item(model, "ntp-server-2", arg(args, "NewNTPServer2"), &mut c)?;
            Ok(Outcome::Write(c))
        }
        ("X_VoIP", "GetInfo") => read(|_, _, _| {
            vec![
                ("NewFaxT38Enable", "0".to_owned()),
                ("NewVoiceCoding", "autocompress".to_owned()),
            ]
        }),
        ("X_VoIP", "GetExistingVoIPNumbers") => read(|s, m, _| {
            let n = usize::from(account_configured(s, m));
            vec![("NewExistingVoIPNumbers", n.to_string())]
        }),
        ("X_VoIP", "X_AVM-DE_GetNumbers") => read(|s, m, _| {
            let mut list = String::from("<?xml version=\"1.0\"?><List>");
            if account_configured(s, m) {
                list.push_str(&format!(
                    "<Item><Number>{}</Number><Type>eVoIP</Type><Index>0</Index><Name>{}</Name></Item>",
                    super::soap::escape(&it(s, m, "e164")),
                    super::soap::escape(&it(s, m, "display-id-unicode"))
                ));
            }
            list.push_str("</List>");
            vec![("NewNumberList", list)]
        }),
        ("X_VoIP", "X_AVM-DE_GetVoIPAccount") => {
            account_index(args)?;
            read(|s, m, _| {
                vec![
                    ("NewVoIPRegistrar", it(s, m, "registrar-addr")),
                    ("NewVoIPNumber", it(s, m, "e164")),
                    ("NewVoIPUsername", it(s, m, "sip-user-id")),
                    ("NewVoIPPassword", String::new()),
                    ("NewVoIPOutboundProxy", it(s, m, "sgnl-gateway-addr-user")),
                    ("NewVoIPSTUNServer", String::new()),
                ]
            })
        }
        ("X_VoIP", "X_AVM-DE_AddVoIPAccount") => {
            account_index(args)?;
            if !arg(args, "NewVoIPSTUNServer").trim().is_empty() {
                return Err(UpnpFault::new(
                    600,
                    "Argument Value Invalid: the phone has no SIP STUN server setting",
                ));
            }
            item(
                model,
                "registrar-addr",
                arg(args, "NewVoIPRegistrar"),
                &mut c,
            )?;
            item(model, "e164", arg(args, "NewVoIPNumber"), &mut c)?;
            item(model, "sip-user-id", arg(args, "NewVoIPUsername"), &mut c)?;
            item(model, "sip-pwd", arg(args, "NewVoIPPassword"), &mut c)?;
            item(
                model,
                "sgnl-gateway-addr-user",
                arg(args, "NewVoIPOutboundProxy"),
                &mut c,
            )?;
            Ok(Outcome::Write(c))
        }
        ("X_VoIP", "X_AVM-DE_DelVoIPAccount") => {
            account_index(args)?;
            for name in [
                "registrar-addr",
                "e164",
                "sip-user-id",
                "sip-pwd",
                "sgnl-gateway-addr-user",
            ] {
                item(model, name, "", &mut c)?;
            }
            Ok(Outcome::Write(c))
        }
        _ => Err(UpnpFault::new(401, "Invalid Action")),
    }
}

fn account_configured(s: &OcmsStore, m: &DeskPhoneModel) -> bool {
    !it(s, m, "registrar-addr").is_empty() || !it(s, m, "e164").is_empty()
}
