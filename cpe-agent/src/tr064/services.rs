//! The services, actions, arguments and state variables the phone offers over TR-064, as
//! data: the description files (`tr64desc.xml`, one SCPD per service) are generated from this
//! table, and the dispatcher checks calls against it, so the two cannot disagree.
//!
//! Names follow TR-064 and, where it leaves room, AVM's (seed 003): `X_AVM-DE_` actions and
//! state variables keep AVM's spelling so that existing clients (fritzconnection) work.

/// Direction of an argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    /// Sent by the client.
    In,
    /// Returned by the phone.
    Out,
}

/// One argument of an action.
#[derive(Debug, Clone, Copy)]
pub struct Arg {
    /// Argument name (`NewURL`).
    pub name: &'static str,
    /// Direction.
    pub dir: Dir,
    /// The related state variable (its data type is the argument's).
    pub var: &'static str,
}

/// One action.
#[derive(Debug, Clone, Copy)]
pub struct ActionDef {
    /// Action name.
    pub name: &'static str,
    /// Arguments, in order.
    pub args: &'static [Arg],
    /// Callable without authentication (seed 003 §4.1).
    pub no_auth: bool,
    /// Changes the configuration (refused while another client holds the transaction lock).
    pub write: bool,
}

impl ActionDef {
    /// The in arguments' names.
    pub fn inputs(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.args
            .iter()
            .filter(|a| a.dir == Dir::In)
            .map(|a| a.name)
    }
}

/// One service.
#[derive(Debug, Clone, Copy)]
pub struct ServiceDef {
    /// Short name (`DeviceInfo`); the service type is `urn:dslforum-org:service:{name}:1`
    /// and the service ID `urn:{name}-com:serviceId:{name}1`.
    pub name: &'static str,
    /// The control URL (path).
    pub control_url: &'static str,
    /// The SCPD URL (path).
    pub scpd_url: &'static str,
    /// The actions.
    pub actions: &'static [ActionDef],
    /// State variables: (name, UPnP data type).
    pub vars: &'static [(&'static str, &'static str)],
}

impl ServiceDef {
    /// `urn:dslforum-org:service:{name}:1`.
    pub fn service_type(&self) -> String {
        format!("urn:dslforum-org:service:{}:1", self.name)
    }

    /// `urn:{name}-com:serviceId:{name}1`.
    pub fn service_id(&self) -> String {
        format!("urn:{0}-com:serviceId:{0}1", self.name)
    }

    /// The action called `name`.
    pub fn action(&self, name: &str) -> Option<&'static ActionDef> {
        self.actions.iter().find(|a| a.name == name)
    }
}

macro_rules! args {
    ($($dir:ident $name:literal => $var:literal),* $(,)?) => {
        &[$(Arg { name: $name, dir: Dir::$dir, var: $var }),*]
    };
}

const fn act(name: &'static str, args: &'static [Arg], write: bool) -> ActionDef {
    ActionDef {
        name,
        args,
        no_auth: false,
        write,
    }
}

/// Every service the phone offers.
pub const SERVICES: &[ServiceDef] = &[
    ServiceDef {
        name: "DeviceInfo",
        control_url: "/upnp/control/deviceinfo",
        scpd_url: "/deviceinfoSCPD.xml",
        actions: &[
            act(
                "GetInfo",
                args!(
                    Out "NewManufacturerName" => "ManufacturerName",
                    Out "NewManufacturerOUI" => "ManufacturerOUI",
                    Out "NewModelName" => "ModelName",
                    Out "NewDescription" => "Description",
                    Out "NewProductClass" => "ProductClass",
                    Out "NewSerialNumber" => "SerialNumber",
                    Out "NewSoftwareVersion" => "SoftwareVersion",
                    Out "NewHardwareVersion" => "HardwareVersion",
                    Out "NewSpecVersion" => "SpecVersion",
                    Out "NewProvisioningCode" => "ProvisioningCode",
                    Out "NewUpTime" => "UpTime",
                    Out "NewDeviceLog" => "DeviceLog",
                ),
                false,
            ),
            ActionDef {
                name: "GetSecurityPort",
                args: args!(Out "NewSecurityPort" => "X_AVM-DE_SecurityPort"),
                no_auth: true,
                write: false,
            },
            act(
                "SetProvisioningCode",
                args!(In "NewProvisioningCode" => "ProvisioningCode"),
                true,
            ),
            act(
                "GetDeviceLog",
                args!(Out "NewDeviceLog" => "DeviceLog"),
                false,
            ),
        ],
        vars: &[
            ("ManufacturerName", "string"),
            ("ManufacturerOUI", "string"),
            ("ModelName", "string"),
            ("Description", "string"),
            ("ProductClass", "string"),
            ("SerialNumber", "string"),
            ("SoftwareVersion", "string"),
            ("HardwareVersion", "string"),
            ("SpecVersion", "string"),
            ("ProvisioningCode", "string"),
            ("UpTime", "ui4"),
            ("DeviceLog", "string"),
            ("X_AVM-DE_SecurityPort", "ui2"),
        ],
    },
    ServiceDef {
        name: "DeviceConfig",
        control_url: "/upnp/control/deviceconfig",
        scpd_url: "/deviceconfigSCPD.xml",
        actions: &[
            act("Reboot", &[], true),
            act("FactoryReset", &[], true),
            act(
                "ConfigurationStarted",
                args!(In "NewSessionID" => "A_ARG_TYPE_UUID"),
                false,
            ),
            act(
                "ConfigurationFinished",
                args!(Out "NewStatus" => "A_ARG_TYPE_Status"),
                false,
            ),
            act("X_GenerateUUID", args!(Out "NewUUID" => "X_UUID"), false),
            act(
                "GetPersistentData",
                args!(Out "NewPersistentData" => "PersistentData"),
                false,
            ),
            act(
                "SetPersistentData",
                args!(In "NewPersistentData" => "PersistentData"),
                true,
            ),
        ],
        vars: &[
            ("PersistentData", "string"),
            ("A_ARG_TYPE_UUID", "uuid"),
            ("A_ARG_TYPE_Status", "string"),
            ("X_UUID", "uuid"),
        ],
    },
    ServiceDef {
        name: "ManagementServer",
        control_url: "/upnp/control/mgmsrv",
        scpd_url: "/mgmsrvSCPD.xml",
        actions: &[
            act(
                "GetInfo",
                args!(
                    Out "NewURL" => "URL",
                    Out "NewUsername" => "Username",
                    Out "NewPeriodicInformEnable" => "PeriodicInformEnable",
                    Out "NewPeriodicInformInterval" => "PeriodicInformInterval",
                    Out "NewPeriodicInformTime" => "PeriodicInformTime",
                    Out "NewParameterKey" => "ParameterKey",
                    Out "NewConnectionRequestURL" => "ConnectionRequestURL",
                    Out "NewConnectionRequestUsername" => "ConnectionRequestUsername",
                    Out "NewUpgradesManaged" => "UpgradesManaged",
                ),
                false,
            ),
            act("SetManagementServerURL", args!(In "NewURL" => "URL"), true),
            act(
                "SetManagementServerUsername",
                args!(In "NewUsername" => "Username"),
                true,
            ),
            act(
                "SetManagementServerPassword",
                args!(In "NewPassword" => "Password"),
                true,
            ),
            act(
                "SetPeriodicInform",
                args!(
                    In "NewPeriodicInformEnable" => "PeriodicInformEnable",
                    In "NewPeriodicInformInterval" => "PeriodicInformInterval",
                    In "NewPeriodicInformTime" => "PeriodicInformTime",
                ),
                true,
            ),
            act(
                "SetConnectionRequestAuthentication",
                args!(
                    In "NewConnectionRequestUsername" => "ConnectionRequestUsername",
                    In "NewConnectionRequestPassword" => "ConnectionRequestPassword",
                ),
                true,
            ),
            act(
                "SetUpgradeManagement",
                args!(In "NewUpgradesManaged" => "UpgradesManaged"),
                true,
            ),
        ],
        vars: &[
            ("URL", "string"),
            ("Username", "string"),
            ("Password", "string"),
            ("PeriodicInformEnable", "boolean"),
            ("PeriodicInformInterval", "ui4"),
            ("PeriodicInformTime", "dateTime"),
            ("ParameterKey", "string"),
            ("ConnectionRequestURL", "string"),
            ("ConnectionRequestUsername", "string"),
            ("ConnectionRequestPassword", "string"),
            ("UpgradesManaged", "boolean"),
        ],
    },
    ServiceDef {
        name: "LANConfigSecurity",
        control_url: "/upnp/control/lanconfigsecurity",
        scpd_url: "/lanconfigsecuritySCPD.xml",
        actions: &[
            act(
                "GetInfo",
                args!(
                    Out "NewMaxCharsPassword" => "MaxCharsPassword",
                    Out "NewMinCharsPassword" => "MinCharsPassword",
                    Out "NewAllowedCharsPassword" => "AllowedCharsPassword",
                ),
                false,
            ),
            act(
                "SetConfigPassword",
                args!(In "NewPassword" => "ConfigPassword"),
                true,
            ),
            act(
                "X_AVM-DE_GetCurrentUser",
                args!(
                    Out "NewX_AVM-DE_CurrentUsername" => "X_AVM-DE_CurrentUsername",
                    Out "NewX_AVM-DE_CurrentUserRights" => "X_AVM-DE_CurrentUserRights",
                ),
                false,
            ),
            ActionDef {
                name: "X_AVM-DE_GetAnonymousLogin",
                args: args!(
                    Out "NewX_AVM-DE_AnonymousLoginEnabled" => "X_AVM-DE_AnonymousLoginEnabled"
                ),
                no_auth: true,
                write: false,
            },
        ],
        vars: &[
            ("MaxCharsPassword", "ui2"),
            ("MinCharsPassword", "ui2"),
            ("AllowedCharsPassword", "string"),
            ("ConfigPassword", "string"),
            ("X_AVM-DE_CurrentUsername", "string"),
            ("X_AVM-DE_CurrentUserRights", "string"),
            ("X_AVM-DE_AnonymousLoginEnabled", "boolean"),
        ],
    },
    ServiceDef {
        name: "Time",
        control_url: "/upnp/control/time",
        scpd_url: "/timeSCPD.xml",
        actions: &[
            act(
                "GetInfo",
                args!(
                    Out "NewNTPServer1" => "NTPServer1",
                    Out "NewNTPServer2" => "NTPServer2",
                    Out "NewCurrentLocalTime" => "CurrentLocalTime",
                    Out "NewLocalTimeZone" => "LocalTimeZone",
                    Out "NewLocalTimeZoneName" => "LocalTimeZoneName",
                ),
                false,
            ),
            act(
                "SetNTPServers",
                args!(
                    In "NewNTPServer1" => "NTPServer1",
                    In "NewNTPServer2" => "NTPServer2",
                ),
                true,
            ),
        ],
        vars: &[
            ("NTPServer1", "string"),
            ("NTPServer2", "string"),
            ("CurrentLocalTime", "dateTime"),
            ("LocalTimeZone", "string"),
            ("LocalTimeZoneName", "string"),
        ],
    },
    ServiceDef {
        name: "X_VoIP",
        control_url: "/upnp/control/x_voip",
        scpd_url: "/x_voipSCPD.xml",
        actions: &[
            act(
                "GetInfo",
                args!(
                    Out "NewFaxT38Enable" => "FaxT38Enable",
                    Out "NewVoiceCoding" => "VoiceCoding",
                ),
                false,
            ),
            act(
                "GetExistingVoIPNumbers",
                args!(Out "NewExistingVoIPNumbers" => "ExistingVoIPNumbers"),
                false,
            ),
            act(
                "X_AVM-DE_GetNumbers",
                args!(Out "NewNumberList" => "X_AVM-DE_NumberList"),
                false,
            ),
            act(
                "X_AVM-DE_GetVoIPAccount",
                args!(
                    In "NewVoIPAccountIndex" => "VoIPAccountIndex",
                    Out "NewVoIPRegistrar" => "VoIPRegistrar",
                    Out "NewVoIPNumber" => "VoIPNumber",
                    Out "NewVoIPUsername" => "VoIPUsername",
                    Out "NewVoIPPassword" => "VoIPPassword",
                    Out "NewVoIPOutboundProxy" => "VoIPOutboundProxy",
                    Out "NewVoIPSTUNServer" => "VoIPSTUNServer",
                ),
                false,
            ),
            act(
                "X_AVM-DE_AddVoIPAccount",
                args!(
                    In "NewVoIPAccountIndex" => "VoIPAccountIndex",
                    In "NewVoIPRegistrar" => "VoIPRegistrar",
                    In "NewVoIPNumber" => "VoIPNumber",
                    In "NewVoIPUsername" => "VoIPUsername",
                    In "NewVoIPPassword" => "VoIPPassword",
                    In "NewVoIPOutboundProxy" => "VoIPOutboundProxy",
                    In "NewVoIPSTUNServer" => "VoIPSTUNServer",
                ),
                true,
            ),
            act(
                "X_AVM-DE_DelVoIPAccount",
                args!(In "NewVoIPAccountIndex" => "VoIPAccountIndex"),
                true,
            ),
        ],
        vars: &[
            ("FaxT38Enable", "boolean"),
            ("VoiceCoding", "string"),
            ("ExistingVoIPNumbers", "ui4"),
            ("X_AVM-DE_NumberList", "string"),
            ("VoIPAccountIndex", "ui2"),
            ("VoIPRegistrar", "string"),
            ("VoIPNumber", "string"),
            ("VoIPUsername", "string"),
            ("VoIPPassword", "string"),
            ("VoIPOutboundProxy", "string"),
            ("VoIPSTUNServer", "string"),
        ],
    },
];

/// The service whose control URL is `path`.
pub fn by_control_url(path: &str) -> Option<&'static ServiceDef> {
    SERVICES.iter().find(|s| s.control_url == path)
}

/// The service whose SCPD URL is `path`.
pub fn by_scpd_url(path: &str) -> Option<&'static ServiceDef> {
    SERVICES.iter().find(|s| s.scpd_url == path)
}

/// The device facts the root description shows.
#[derive(Debug, Clone, Default)]
pub struct DeviceFacts {
    /// `Manufacturer` (`Unify`).
    pub manufacturer: String,
    /// `ModelName` (`device-type`).
    pub model_name: String,
    /// `Description`.
    pub description: String,
    /// `SerialNumber`.
    pub serial_number: String,
    /// `SoftwareVersion`.
    pub software_version: String,
}

/// The root device type.
pub const DEVICE_TYPE: &str = "urn:dslforum-org:device:InternetGatewayDevice:1";

/// A stable UDN from the serial number: a UUID whose last group is the serial number's 12
/// hex digits (like AVM's, whose last group is the box's MAC), the rest a fixed prefix.
pub fn udn(serial_number: &str) -> String {
    let hex: String = serial_number
        .chars()
        .filter(|c| c.is_ascii_hexdigit())
        .collect::<String>()
        .to_ascii_lowercase();
    let tail = format!("{hex:0>12}");
    let tail = &tail[tail.len() - 12..];
    format!("uuid:75f5e2d0-5a1d-4e0b-8d3c-{tail}")
}

/// `tr64desc.xml` (seed 003 §10.4; root namespace `urn:dslforum-org:device-1-0`).
pub fn root_description(facts: &DeviceFacts) -> String {
    use super::soap::escape;
    let mut s = String::with_capacity(4096);
    s.push_str("<?xml version=\"1.0\"?>\n<root xmlns=\"urn:dslforum-org:device-1-0\">\n");
    s.push_str("<specVersion><major>1</major><minor>0</minor></specVersion>\n<device>\n");
    s.push_str(&format!("<deviceType>{DEVICE_TYPE}</deviceType>\n"));
    s.push_str(&format!(
        "<friendlyName>{} {}</friendlyName>\n",
        escape(&facts.model_name),
        escape(&facts.serial_number)
    ));
    s.push_str(&format!(
        "<manufacturer>{}</manufacturer>\n<manufacturerURL>https://www.unify.com</manufacturerURL>\n",
        escape(&facts.manufacturer)
    ));
    s.push_str(&format!(
        "<modelDescription>{}</modelDescription>\n<modelName>{}</modelName>\n\
         <modelNumber>{}</modelNumber>\n<modelURL>https://www.unify.com</modelURL>\n",
        escape(&facts.description),
        escape(&facts.model_name),
        escape(&facts.software_version)
    ));
    s.push_str(&format!(
        "<serialNumber>{}</serialNumber>\n<UDN>{}</UDN>\n<serviceList>\n",
        escape(&facts.serial_number),
        udn(&facts.serial_number)
    ));
    for svc in SERVICES {
        s.push_str(&format!(
            "<service><serviceType>{}</serviceType><serviceId>{}</serviceId>\
             <controlURL>{}</controlURL><eventSubURL>{}</eventSubURL><SCPDURL>{}</SCPDURL></service>\n",
            svc.service_type(),
            svc.service_id(),
            svc.control_url,
            svc.control_url,
            svc.scpd_url
        ));
    }
    s.push_str("</serviceList>\n</device>\n</root>\n");
    s
}

/// The SCPD file of `svc`: exactly the implemented actions and their state variables.
pub fn scpd(svc: &ServiceDef) -> String {
    let mut s = String::with_capacity(4096);
    s.push_str("<?xml version=\"1.0\"?>\n<scpd xmlns=\"urn:dslforum-org:service-1-0\">\n");
    s.push_str("<specVersion><major>1</major><minor>0</minor></specVersion>\n<actionList>\n");
    for a in svc.actions {
        s.push_str(&format!("<action><name>{}</name>", a.name));
        if !a.args.is_empty() {
            s.push_str("<argumentList>");
            for arg in a.args {
                s.push_str(&format!(
                    "<argument><name>{}</name><direction>{}</direction>\
                     <relatedStateVariable>{}</relatedStateVariable></argument>",
                    arg.name,
                    if arg.dir == Dir::In { "in" } else { "out" },
                    arg.var
                ));
            }
            s.push_str("</argumentList>");
        }
        s.push_str("</action>\n");
    }
    s.push_str("</actionList>\n<serviceStateTable>\n");
    for (name, ty) in svc.vars {
        s.push_str(&format!(
            "<stateVariable sendEvents=\"no\"><name>{name}</name><dataType>{ty}</dataType></stateVariable>\n"
        ));
    }
    s.push_str("</serviceStateTable>\n</scpd>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_argument_has_its_state_variable_and_names_are_unique() {
        for svc in SERVICES {
            for a in svc.actions {
                for arg in a.args {
                    assert!(
                        svc.vars.iter().any(|(n, _)| *n == arg.var),
                        "{}:{} {} -> {}",
                        svc.name,
                        a.name,
                        arg.name,
                        arg.var
                    );
                }
                assert_eq!(svc.actions.iter().filter(|b| b.name == a.name).count(), 1);
            }
            assert!(by_control_url(svc.control_url).is_some());
            assert!(by_scpd_url(svc.scpd_url).is_some());
        }
    }

    #[test]
    fn udn_is_stable_and_from_the_serial_number() {
        assert_eq!(
            udn("001AE8A1B2C3"),
            "uuid:75f5e2d0-5a1d-4e0b-8d3c-001ae8a1b2c3"
        );
        assert_eq!(udn("001AE8A1B2C3"), udn("001AE8A1B2C3"));
        assert_ne!(udn("001AE8A1B2C3"), udn("001AE8A1B2C4"));
    }
}
