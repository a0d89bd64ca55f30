//! The data model as data: every parameter and object with its type, access and notification
//! rules (design invariant 6). Stores are built from a [`Schema`]; the Desk Phone CP's schema
//! is loaded from the table in `datamodel/`.

use crate::types::ParamType;

/// Whether the ACS may write a parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Access {
    /// Read-only (SetParameterValues gives 9008).
    ReadOnly,
    /// Read-write.
    ReadWrite,
}

/// A parameter's notification attribute (`cwmp:SetParameterAttributesStruct/Notification`).
///
/// Values 3–6 are CWMP 1.4's lightweight notifications; they are representable so that a
/// request carrying them can be refused with 9009 rather than misread.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Notification {
    /// 0: notification off.
    #[default]
    Off,
    /// 1: passive (report in the next Inform).
    Passive,
    /// 2: active (start a session).
    Active,
    /// 3: passive lightweight.
    PassiveLightweight,
    /// 4: passive and passive lightweight.
    PassiveAndPassiveLightweight,
    /// 5: active lightweight.
    ActiveLightweight,
    /// 6: passive and active lightweight.
    PassiveAndActiveLightweight,
}

impl Notification {
    /// The wire number.
    pub fn as_i32(self) -> i32 {
        match self {
            Notification::Off => 0,
            Notification::Passive => 1,
            Notification::Active => 2,
            Notification::PassiveLightweight => 3,
            Notification::PassiveAndPassiveLightweight => 4,
            Notification::ActiveLightweight => 5,
            Notification::PassiveAndActiveLightweight => 6,
        }
    }

    /// The variant for a wire number (0–6).
    pub fn from_i32(n: i32) -> Option<Notification> {
        Some(match n {
            0 => Notification::Off,
            1 => Notification::Passive,
            2 => Notification::Active,
            3 => Notification::PassiveLightweight,
            4 => Notification::PassiveAndPassiveLightweight,
            5 => Notification::ActiveLightweight,
            6 => Notification::PassiveAndActiveLightweight,
            _ => return None,
        })
    }
}

/// How a parameter treats requests for active notification (the data model's `activeNotify`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ActiveNotify {
    /// Active notification may be set and cleared freely.
    #[default]
    Normal,
    /// The CPE refuses Active (2) with 9009 (frequently changing values such as `UpTime`).
    CanDeny,
    /// Active notification is always on; attempts to change it are refused with 9009.
    ForceEnabled,
    /// Active by default (and after factory reset), but the ACS may change it.
    ForceDefaultEnabled,
}

/// Where a parameter's value comes from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Source {
    /// A configuration item stored by the backend under this key (the OCMS item name).
    Item(String),
    /// A constant fixed by the firmware (e.g. `Manufacturer` = `Unify`).
    Constant(String),
    /// A live value computed by the device (UpTime, DeviceStatus, NATDetected …).
    Live,
    /// A value kept by the store itself with no backend item (e.g. `ParameterKey`), persisted.
    Internal,
}

/// One parameter of the data model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamDef {
    /// Full name, e.g. `Device.ManagementServer.URL`.
    pub name: String,
    /// Type and constraints.
    pub ty: ParamType,
    /// Read-only or read-write for the ACS.
    pub access: Access,
    /// Where the value lives.
    pub source: Source,
    /// Default value (lexical form), used when the backend has none and after factory reset.
    pub default: Option<String>,
    /// Notification attribute after factory reset.
    pub default_notification: Notification,
    /// Active-notification policy.
    pub active_notify: ActiveNotify,
    /// Included in every Inform's ParameterList (digest §2.2).
    pub forced_inform: bool,
    /// A secret (password, key): reads back as `""`, redacted in `Debug` and logs.
    pub secret: bool,
}

impl ParamDef {
    /// A read-only, non-secret parameter with no default and notification off.
    pub fn new(name: impl Into<String>, ty: ParamType, access: Access, source: Source) -> ParamDef {
        ParamDef {
            name: name.into(),
            ty,
            access,
            source,
            default: None,
            default_notification: Notification::Off,
            active_notify: ActiveNotify::Normal,
            forced_inform: false,
            secret: false,
        }
    }
}

/// What kind of object node a path is (digest §5.4, §5.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ObjectKind {
    /// A single-instance object (`Device.ManagementServer.`): never writable.
    Single,
    /// A multi-instance table (`….VoiceProfile.`); `max_instances` bounds AddObject.
    Table {
        /// Whether AddObject is allowed at all (shown as `Writable` in GetParameterNames).
        addable: bool,
        /// The most instances the device can hold (`None` = unbounded).
        max_instances: Option<u32>,
    },
    /// An instance of a table (`….VoiceProfile.1.`).
    Instance {
        /// Whether DeleteObject is allowed (shown as `Writable` in GetParameterNames).
        deletable: bool,
    },
}

/// One object node of the data model; its path ends in `.`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectDef {
    /// Path ending in `.`, e.g. `Device.LAN.`.
    pub path: String,
    /// Single object, table or instance.
    pub kind: ObjectKind,
}
