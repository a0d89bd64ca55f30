//! The data model as data: every parameter and object with its type, access and notification
//! rules (design invariant 6). Stores are built from a [`Schema`]; the Desk Phone CP's schema
//! is loaded from the table in `datamodel/`.

use crate::fault::{Fault, FaultCode};
use crate::store::ParameterInfo;
use crate::types::{BaseType, ParamType};
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::ops::Range;

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
///
/// `Debug` hides the default and a constant's value when the parameter is a secret.
#[derive(Clone, PartialEq, Eq)]
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
    /// Included in every Inform's ParameterList (TR-069 Annex A.3.3.1).
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

impl fmt::Debug for ParamDef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redacted = |v: &Option<String>| match v {
            Some(_) if self.secret => Some(crate::REDACTED.to_owned()),
            other => other.clone(),
        };
        let source = match &self.source {
            Source::Constant(_) if self.secret => Source::Constant(crate::REDACTED.to_owned()),
            other => other.clone(),
        };
        f.debug_struct("ParamDef")
            .field("name", &self.name)
            .field("ty", &self.ty)
            .field("access", &self.access)
            .field("source", &source)
            .field("default", &redacted(&self.default))
            .field("default_notification", &self.default_notification)
            .field("active_notify", &self.active_notify)
            .field("forced_inform", &self.forced_inform)
            .field("secret", &self.secret)
            .finish()
    }
}

/// What kind of object node a path is (TR-069 Annex A.3.2.3, Annex A.3.2.6–A.3.2.7).
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

/// The longest parameter name or object path CWMP carries (`string(256)`, TR-069 Annex A).
pub const MAX_NAME_LENGTH: usize = 256;

/// Why a list of definitions is not a valid [`Schema`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SchemaError {
    /// A name or path that is not a CWMP name (empty segment, bad character, too long,
    /// object path without the final `.`, parameter name with one).
    InvalidName {
        /// The offending name.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The same name or path declared twice (a parameter `A.B` and an object `A.B.` count
    /// as the same name).
    Duplicate(String),
    /// A parameter or object whose parent object is not declared (so `Device.` itself must be).
    MissingParent {
        /// The parameter name or object path.
        name: String,
        /// The missing parent path.
        parent: String,
    },
    /// A default or a constant value that does not parse as the parameter's type.
    BadDefault {
        /// The parameter name.
        name: String,
        /// Why it was refused (never the value itself).
        reason: String,
    },
    /// A secret parameter flagged forced-inform (its value would have to be sent as `""` in
    /// every Inform, which is meaningless).
    SecretForcedInform(String),
    /// Definitions that contradict each other or the store's rules (see [`Schema::new`]).
    Inconsistent {
        /// The parameter name or object path.
        name: String,
        /// What contradicts what.
        reason: String,
    },
}

impl fmt::Display for SchemaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SchemaError::InvalidName { name, reason } => {
                write!(f, "invalid name {name:?}: {reason}")
            }
            SchemaError::Duplicate(name) => write!(f, "{name} is declared twice"),
            SchemaError::MissingParent { name, parent } => {
                write!(f, "{name}: parent object {parent} is not declared")
            }
            SchemaError::BadDefault { name, reason } => {
                write!(f, "{name}: default or constant value refused: {reason}")
            }
            SchemaError::SecretForcedInform(name) => {
                write!(f, "{name}: a secret parameter cannot be forced-inform")
            }
            SchemaError::Inconsistent { name, reason } => write!(f, "{name}: {reason}"),
        }
    }
}

impl std::error::Error for SchemaError {}

/// A node of the tree in data-model order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Node {
    Param(usize),
    Object(usize),
}

/// Precomputed tree facts about one object (same index as in `Schema::objects`).
#[derive(Debug, Clone)]
struct ObjectInfo {
    /// The object's own node and all its descendants, in `Schema::nodes`.
    nodes: Range<usize>,
    /// The parameters in its subtree, in `Schema::params`.
    params: Range<usize>,
    /// Its immediate children (parameters first, then child objects).
    children: Vec<Node>,
}

/// The whole data model of a device: every object and parameter, in data-model order, with
/// O(1) lookup by name (design invariant 6).
///
/// **Data-model order** is the order the definitions were given in, arranged as a tree the
/// way the Broadband Forum's data-model XML lists it: each object, then its own parameters
/// (in the order given), then its child objects (in the order given), recursively. For
/// definitions given in that order already (parents before children, an object's parameters
/// right after it) this is exactly the order given. Every list a store returns (GetParameterValues,
/// GetParameterNames, GetParameterAttributes, the Inform's forced parameters) follows it, and
/// every subtree is contiguous, so selecting a partial path is a slice.
#[derive(Clone)]
pub struct Schema {
    params: Vec<ParamDef>,
    objects: Vec<ObjectDef>,
    nodes: Vec<Node>,
    param_index: HashMap<String, usize>,
    object_index: HashMap<String, usize>,
    object_info: Vec<ObjectInfo>,
    roots: Vec<usize>,
    parameter_key: Option<usize>,
}

impl fmt::Debug for Schema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Schema")
            .field("objects", &self.objects)
            .field("params", &self.params)
            .finish()
    }
}

/// The parent path of a parameter name or object path (`Device.LAN.IPAddress` → `Device.LAN.`,
/// `Device.LAN.` → `Device.`), `None` for a root object.
fn parent_path(name: &str) -> Option<&str> {
    let trimmed = name.strip_suffix('.').unwrap_or(name);
    trimmed.rfind('.').and_then(|i| name.get(..=i))
}

fn check_name(name: &str, object: bool) -> Result<(), SchemaError> {
    let invalid = |reason| {
        Err(SchemaError::InvalidName {
            name: name.to_owned(),
            reason,
        })
    };
    if name.len() > MAX_NAME_LENGTH {
        return invalid("longer than 256 characters");
    }
    let body = if object {
        match name.strip_suffix('.') {
            Some(b) => b,
            None => return invalid("an object path must end with '.'"),
        }
    } else {
        if name.ends_with('.') {
            return invalid("a parameter name must not end with '.'");
        }
        name
    };
    let mut segments = 0;
    for segment in body.split('.') {
        if segment.is_empty() {
            return invalid("empty name segment");
        }
        if !segment
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return invalid("segments may hold only letters, digits, '_' and '-'");
        }
        segments += 1;
    }
    if !object && segments < 2 {
        return invalid("a parameter must be inside an object");
    }
    Ok(())
}

fn inconsistent(name: &str, reason: impl Into<String>) -> SchemaError {
    SchemaError::Inconsistent {
        name: name.to_owned(),
        reason: reason.into(),
    }
}

/// Per-parameter rules of [`Schema::new`].
fn check_param(p: &ParamDef) -> Result<(), SchemaError> {
    use crate::backend::RESERVED_PREFIX;
    if let (Some(min), Some(max)) = (p.ty.min, p.ty.max) {
        if min > max {
            return Err(inconsistent(&p.name, "range minimum above maximum"));
        }
    }
    let bad_default = |e: crate::value::ValueError| SchemaError::BadDefault {
        name: p.name.clone(),
        reason: e.reason,
    };
    if let Some(d) = &p.default {
        p.ty.parse_with_reason(d, None).map_err(bad_default)?;
    }
    match &p.source {
        Source::Constant(v) => {
            p.ty.parse_with_reason(v, None).map_err(bad_default)?;
        }
        Source::Item(key) => {
            if key.is_empty() || key.starts_with(RESERVED_PREFIX) {
                return Err(inconsistent(
                    &p.name,
                    format!("item key must be non-empty and must not start with {RESERVED_PREFIX}"),
                ));
            }
        }
        Source::Live | Source::Internal => {}
    }
    if p.secret && p.forced_inform {
        return Err(SchemaError::SecretForcedInform(p.name.clone()));
    }
    if p.access == Access::ReadWrite && matches!(p.source, Source::Constant(_) | Source::Live) {
        return Err(inconsistent(
            &p.name,
            "a writable parameter needs a stored value (Source::Item or Source::Internal)",
        ));
    }
    if p.default_notification.as_i32() > 2 {
        return Err(inconsistent(
            &p.name,
            "lightweight notification (3-6) is not supported as a default",
        ));
    }
    if matches!(
        p.active_notify,
        ActiveNotify::ForceEnabled | ActiveNotify::ForceDefaultEnabled
    ) && p.default_notification != Notification::Active
    {
        return Err(inconsistent(
            &p.name,
            "forceEnabled / forceDefaultEnabled need default notification Active",
        ));
    }
    Ok(())
}

impl Schema {
    /// Build a schema from parameter and object definitions, checking that:
    ///
    /// * every name is a CWMP name (≤ 256 characters, non-empty segments of letters, digits,
    ///   `_`, `-`; objects end in `.`, parameters do not and sit inside an object) and unique
    ///   (a parameter `A.B` and an object `A.B.` clash);
    /// * every parameter's and object's parent object is declared (so the root, `Device.`, must be);
    /// * an `Instance` sits in a `Table`, is named by a number ≥ 1 without leading zeros, and a
    ///   table holds only instances (no parameters), no more than its `max_instances`;
    /// * defaults and constant values parse as the parameter's type, constraints included;
    ///   ranges have min ≤ max;
    /// * a secret is not forced-inform;
    /// * a writable parameter has a stored source (`Item` or `Internal`), not `Constant` or `Live`;
    /// * item keys are non-empty and outside [`RESERVED_PREFIX`](crate::RESERVED_PREFIX), and an
    ///   item used by a writable parameter is used by no other parameter (two names writing one
    ///   item would contradict each other within one SetParameterValues);
    /// * default notifications are 0–2, and `ForceEnabled` / `ForceDefaultEnabled` parameters
    ///   default to Active;
    /// * `<root>.ManagementServer.ParameterKey`, if declared, is a string stored as `Item` or
    ///   `Internal` (the store writes it on every successful SetParameterValues).
    ///
    /// The resulting order is described on [`Schema`].
    pub fn new(params: Vec<ParamDef>, objects: Vec<ObjectDef>) -> Result<Schema, SchemaError> {
        // Names and uniqueness.
        let mut object_pos: HashMap<&str, usize> = HashMap::with_capacity(objects.len());
        for (i, o) in objects.iter().enumerate() {
            check_name(&o.path, true)?;
            if object_pos.insert(o.path.as_str(), i).is_some() {
                return Err(SchemaError::Duplicate(o.path.clone()));
            }
        }
        let mut param_names: HashSet<&str> = HashSet::with_capacity(params.len());
        for p in &params {
            check_name(&p.name, false)?;
            if !param_names.insert(p.name.as_str())
                || object_pos.contains_key(format!("{}.", p.name).as_str())
            {
                return Err(SchemaError::Duplicate(p.name.clone()));
            }
        }

        // Parents.
        let mut child_objects: Vec<Vec<usize>> = vec![Vec::new(); objects.len()];
        let mut child_params: Vec<Vec<usize>> = vec![Vec::new(); objects.len()];
        let mut roots_given = Vec::new();
        for (i, o) in objects.iter().enumerate() {
            match parent_path(&o.path) {
                None => roots_given.push(i),
                Some(parent) => match object_pos.get(parent) {
                    Some(&j) => child_objects[j].push(i),
                    None => {
                        return Err(SchemaError::MissingParent {
                            name: o.path.clone(),
                            parent: parent.to_owned(),
                        })
                    }
                },
            }
        }
        for (i, p) in params.iter().enumerate() {
            let parent = parent_path(&p.name).unwrap_or("");
            match object_pos.get(parent) {
                Some(&j) => child_params[j].push(i),
                None => {
                    return Err(SchemaError::MissingParent {
                        name: p.name.clone(),
                        parent: parent.to_owned(),
                    })
                }
            }
        }

        // Object kinds.
        for (i, o) in objects.iter().enumerate() {
            if let ObjectKind::Instance { .. } = o.kind {
                let in_table = parent_path(&o.path)
                    .and_then(|pp| object_pos.get(pp))
                    .is_some_and(|&j| matches!(objects[j].kind, ObjectKind::Table { .. }));
                if !in_table {
                    return Err(inconsistent(&o.path, "an instance must sit in a table"));
                }
                let last = o
                    .path
                    .trim_end_matches('.')
                    .rsplit('.')
                    .next()
                    .unwrap_or("");
                let numeric = !last.is_empty()
                    && !last.starts_with('0')
                    && last.bytes().all(|b| b.is_ascii_digit())
                    && last.parse::<u32>().is_ok();
                if !numeric {
                    return Err(inconsistent(
                        &o.path,
                        "an instance is named by a number >= 1 without leading zeros",
                    ));
                }
            }
            if let ObjectKind::Table { max_instances, .. } = o.kind {
                if !child_params[i].is_empty() {
                    return Err(inconsistent(&o.path, "a table holds only instances"));
                }
                for &c in &child_objects[i] {
                    if !matches!(objects[c].kind, ObjectKind::Instance { .. }) {
                        return Err(inconsistent(
                            &objects[c].path,
                            "a table holds only instances",
                        ));
                    }
                }
                if let Some(max) = max_instances {
                    if child_objects[i].len() > max as usize {
                        return Err(inconsistent(
                            &o.path,
                            format!("more instances declared than max_instances {max}"),
                        ));
                    }
                }
            }
        }

        // Parameters.
        let mut item_users: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, p) in params.iter().enumerate() {
            check_param(p)?;
            if let Source::Item(key) = &p.source {
                item_users.entry(key.as_str()).or_default().push(i);
            }
        }
        for (key, users) in &item_users {
            if users.len() > 1 {
                if let Some(&w) = users
                    .iter()
                    .find(|&&u| params[u].access == Access::ReadWrite)
                {
                    return Err(inconsistent(
                        &params[w].name,
                        format!("writable parameter shares item {key} with another parameter"),
                    ));
                }
            }
        }

        // Arrange in tree order.
        let mut builder = TreeBuilder {
            params_in: params.into_iter().map(Some).collect(),
            objects_in: objects.into_iter().map(Some).collect(),
            child_objects,
            child_params,
            params: Vec::new(),
            objects: Vec::new(),
            nodes: Vec::new(),
            info: Vec::new(),
        };
        let roots: Vec<usize> = roots_given.iter().map(|&r| builder.walk(r)).collect();
        let TreeBuilder {
            params,
            objects,
            nodes,
            info,
            ..
        } = builder;
        let object_info: Vec<ObjectInfo> = info.into_iter().flatten().collect();
        let param_index = params
            .iter()
            .enumerate()
            .map(|(i, p)| (p.name.clone(), i))
            .collect();
        let object_index = objects
            .iter()
            .enumerate()
            .map(|(i, o)| (o.path.clone(), i))
            .collect();
        let mut schema = Schema {
            params,
            objects,
            nodes,
            param_index,
            object_index,
            object_info,
            roots,
            parameter_key: None,
        };

        // ParameterKey.
        let key = schema.roots.iter().find_map(|&r| {
            let name = format!("{}ManagementServer.ParameterKey", schema.objects[r].path);
            schema.param_index.get(&name).copied()
        });
        if let Some(k) = key {
            let p = &schema.params[k];
            let stored = matches!(p.source, Source::Item(_) | Source::Internal);
            if !stored || p.ty.base != BaseType::String {
                return Err(inconsistent(
                    &p.name,
                    "ParameterKey must be a string stored as Source::Item or Source::Internal",
                ));
            }
        }
        schema.parameter_key = key;
        Ok(schema)
    }

    /// Every parameter, in data-model order. A parameter's position here is its index
    /// ([`param_index`](Self::param_index)).
    pub fn params(&self) -> &[ParamDef] {
        &self.params
    }

    /// Every object, in data-model order.
    pub fn objects(&self) -> &[ObjectDef] {
        &self.objects
    }

    /// The root objects (normally just `Device.`), in the order given.
    pub fn roots(&self) -> impl Iterator<Item = &ObjectDef> + '_ {
        self.roots.iter().map(|&r| &self.objects[r])
    }

    /// The parameter with this full name.
    pub fn param(&self, name: &str) -> Option<&ParamDef> {
        self.param_index.get(name).map(|&i| &self.params[i])
    }

    /// The position of a parameter in [`params`](Self::params).
    pub fn param_index(&self, name: &str) -> Option<usize> {
        self.param_index.get(name).copied()
    }

    /// The object with this path (ending in `.`).
    pub fn object(&self, path: &str) -> Option<&ObjectDef> {
        self.object_index.get(path).map(|&i| &self.objects[i])
    }

    /// `<root>.ManagementServer.ParameterKey`, if the schema declares it.
    pub fn parameter_key(&self) -> Option<&ParamDef> {
        self.parameter_key.map(|i| &self.params[i])
    }

    /// The parameters a name selects in GetParameterValues / GetParameterAttributes /
    /// SetParameterAttributes (TR-069 Annex A.3.2.2): a full parameter name selects itself, an object
    /// path (ending in `.`) every parameter below it, `""` every parameter. The result is a
    /// range of positions in [`params`](Self::params), so in data-model order. `None` for an
    /// unknown name (the caller's 9005).
    pub fn select(&self, name: &str) -> Option<Range<usize>> {
        if name.is_empty() {
            return Some(0..self.params.len());
        }
        if name.ends_with('.') {
            self.object_index
                .get(name)
                .map(|&o| self.object_info[o].params.clone())
        } else {
            self.param_index.get(name).map(|&i| i..i + 1)
        }
    }

    /// The parameters below an object path, in data-model order (`""` = all; an unknown path
    /// or a parameter name gives none).
    pub fn params_under(&self, path: &str) -> impl Iterator<Item = &ParamDef> + '_ {
        let range = if path.is_empty() || path.ends_with('.') {
            self.select(path).unwrap_or(0..0)
        } else {
            0..0
        };
        self.params[range].iter()
    }

    /// The number of instances a table declares (`None` if `path` is not a table).
    pub fn instance_count(&self, path: &str) -> Option<usize> {
        let &o = self.object_index.get(path)?;
        match self.objects[o].kind {
            ObjectKind::Table { .. } => Some(self.object_info[o].children.len()),
            _ => None,
        }
    }

    fn info(&self, node: Node) -> ParameterInfo {
        match node {
            Node::Param(i) => ParameterInfo {
                name: self.params[i].name.clone(),
                writable: self.params[i].access == Access::ReadWrite,
            },
            Node::Object(o) => {
                let obj = &self.objects[o];
                ParameterInfo {
                    name: obj.path.clone(),
                    writable: match obj.kind {
                        ObjectKind::Single => false,
                        ObjectKind::Table { addable, .. } => addable,
                        ObjectKind::Instance { deletable } => deletable,
                    },
                }
            }
        }
    }

    /// GetParameterNames (TR-069 Annex A.3.2.3), `Writable` as the schema declares it:
    ///
    /// * `""` with `next_level` → the root objects only (`Device.`); without → every object
    ///   and parameter;
    /// * an object path without `next_level` → the object itself and all its descendants; with
    ///   `next_level` → its immediate children (parameters, child objects, instances);
    /// * a full parameter name without `next_level` → that parameter; with it → 9003;
    /// * anything else → 9005.
    ///
    /// Everything comes in data-model order.
    pub fn names(&self, path: &str, next_level: bool) -> Result<Vec<ParameterInfo>, Fault> {
        if path.is_empty() {
            return Ok(if next_level {
                self.roots
                    .iter()
                    .map(|&r| self.info(Node::Object(r)))
                    .collect()
            } else {
                self.nodes.iter().map(|&n| self.info(n)).collect()
            });
        }
        if path.ends_with('.') {
            let &o = self.object_index.get(path).ok_or_else(|| unknown(path))?;
            let info = &self.object_info[o];
            return Ok(if next_level {
                info.children.iter().map(|&n| self.info(n)).collect()
            } else {
                self.nodes[info.nodes.clone()]
                    .iter()
                    .map(|&n| self.info(n))
                    .collect()
            });
        }
        let &i = self.param_index.get(path).ok_or_else(|| unknown(path))?;
        if next_level {
            return Err(Fault::with_message(
                FaultCode::InvalidArguments,
                format!("NextLevel is true for the parameter {path}"),
            ));
        }
        Ok(vec![self.info(Node::Param(i))])
    }
}

/// 9005 for a name the schema does not know.
pub(crate) fn unknown(name: &str) -> Fault {
    Fault::with_message(
        FaultCode::InvalidParameterName,
        format!("Invalid parameter name: {name}"),
    )
}

/// Moves the definitions into tree order (see [`Schema`]).
struct TreeBuilder {
    params_in: Vec<Option<ParamDef>>,
    objects_in: Vec<Option<ObjectDef>>,
    child_objects: Vec<Vec<usize>>,
    child_params: Vec<Vec<usize>>,
    params: Vec<ParamDef>,
    objects: Vec<ObjectDef>,
    nodes: Vec<Node>,
    info: Vec<Option<ObjectInfo>>,
}

impl TreeBuilder {
    /// Emit object `given` (an index into the definitions as given) and its subtree; returns
    /// its new index. Recursion depth is bounded by the 256-character name limit.
    fn walk(&mut self, given: usize) -> usize {
        let o = self.objects.len();
        if let Some(def) = self.objects_in[given].take() {
            self.objects.push(def);
        }
        self.info.push(None);
        let node_start = self.nodes.len();
        let param_start = self.params.len();
        self.nodes.push(Node::Object(o));
        let mut children = Vec::new();
        for p in std::mem::take(&mut self.child_params[given]) {
            if let Some(def) = self.params_in[p].take() {
                let i = self.params.len();
                self.params.push(def);
                self.nodes.push(Node::Param(i));
                children.push(Node::Param(i));
            }
        }
        for c in std::mem::take(&mut self.child_objects[given]) {
            let ci = self.walk(c);
            children.push(Node::Object(ci));
        }
        self.info[o] = Some(ObjectInfo {
            nodes: node_start..self.nodes.len(),
            params: param_start..self.params.len(),
            children,
        });
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::BaseType;

    fn param(name: &str) -> ParamDef {
        ParamDef::new(
            name,
            ParamType::new(BaseType::String),
            Access::ReadOnly,
            Source::Internal,
        )
    }

    fn object(path: &str) -> ObjectDef {
        ObjectDef {
            path: path.to_owned(),
            kind: ObjectKind::Single,
        }
    }

    fn names(s: &Schema, path: &str, next: bool) -> Vec<String> {
        s.names(path, next)
            .unwrap()
            .into_iter()
            .map(|i| i.name)
            .collect()
    }

    #[test]
    fn tree_order_from_any_given_order() {
        let s = Schema::new(
            vec![
                param("Device.A.x"),
                param("Device.B.y"),
                param("Device.z"),
                param("Device.A.w"),
            ],
            vec![
                object("Device."),
                object("Device.B."),
                object("Device.A."),
                object("Device.B.C."),
            ],
        )
        .unwrap();
        let order: Vec<&str> = s.params().iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            order,
            ["Device.z", "Device.B.y", "Device.A.x", "Device.A.w"]
        );
        assert_eq!(
            names(&s, "", false),
            [
                "Device.",
                "Device.z",
                "Device.B.",
                "Device.B.y",
                "Device.B.C.",
                "Device.A.",
                "Device.A.x",
                "Device.A.w"
            ]
        );
        assert_eq!(names(&s, "", true), ["Device."]);
        assert_eq!(
            names(&s, "Device.", true),
            ["Device.z", "Device.B.", "Device.A."]
        );
        assert_eq!(
            names(&s, "Device.B.", false),
            ["Device.B.", "Device.B.y", "Device.B.C."]
        );
        assert_eq!(names(&s, "Device.B.C.", true), Vec::<String>::new());
        assert_eq!(names(&s, "Device.A.x", false), ["Device.A.x"]);
        let fault = s.names("Device.A.x", true).unwrap_err();
        assert_eq!(fault.code, FaultCode::InvalidArguments);
        for bad in ["Device.Q.", "Device.A", "Device.A.x.", "Device.A.q", "Q."] {
            assert_eq!(
                s.names(bad, false).unwrap_err().code,
                FaultCode::InvalidParameterName,
                "{bad}"
            );
        }
        // Selection for GPV: ranges in data-model order.
        let sel = |n: &str| {
            s.select(n).map(|r| {
                s.params()[r]
                    .iter()
                    .map(|p| p.name.clone())
                    .collect::<Vec<_>>()
            })
        };
        assert_eq!(sel("Device.A.").unwrap(), ["Device.A.x", "Device.A.w"]);
        assert_eq!(sel("Device.").unwrap().len(), 4);
        assert_eq!(sel("").unwrap().len(), 4);
        assert_eq!(sel("Device.B.C.").unwrap(), Vec::<String>::new());
        assert_eq!(sel("Device.A.w").unwrap(), ["Device.A.w"]);
        assert_eq!(sel("Device.A"), None);
        assert_eq!(sel("Device.Q."), None);
        assert_eq!(s.params_under("Device.B.").count(), 1);
        assert_eq!(s.params_under("Device.A.x").count(), 0);
        assert_eq!(s.params_under("nope.").count(), 0);
        assert_eq!(s.param_index("Device.A.w"), Some(3));
        assert!(s.object("Device.B.C.").is_some());
        assert!(s.param("Device.B.y").is_some());
        assert!(s.parameter_key().is_none());
    }

    fn err(params: Vec<ParamDef>, objects: Vec<ObjectDef>) -> SchemaError {
        Schema::new(params, objects).unwrap_err()
    }

    #[test]
    fn refuses_bad_names_and_trees() {
        let dev = || object("Device.");
        assert!(matches!(
            err(vec![param("Device.x")], vec![]),
            SchemaError::MissingParent { .. }
        ));
        assert!(matches!(
            err(vec![param("Device.A.x")], vec![dev()]),
            SchemaError::MissingParent { .. }
        ));
        assert!(matches!(
            err(vec![], vec![dev(), object("Device.A.B.")]),
            SchemaError::MissingParent { .. }
        ));
        assert!(matches!(
            err(vec![], vec![dev(), dev()]),
            SchemaError::Duplicate(_)
        ));
        assert!(matches!(
            err(vec![param("Device.x"), param("Device.x")], vec![dev()]),
            SchemaError::Duplicate(_)
        ));
        assert!(matches!(
            err(vec![param("Device.A")], vec![dev(), object("Device.A.")]),
            SchemaError::Duplicate(_)
        ));
        for bad in [
            "Device",
            "Device..",
            ".Device.",
            "Dev ice.",
            "Device.ä.",
            "",
        ] {
            assert!(
                matches!(
                    err(vec![], vec![object(bad)]),
                    SchemaError::InvalidName { .. }
                ),
                "{bad:?}"
            );
        }
        for bad in ["Device.x.", "x", "Device..x", "Device.x y"] {
            assert!(
                matches!(
                    err(vec![param(bad)], vec![dev()]),
                    SchemaError::InvalidName { .. }
                ),
                "{bad:?}"
            );
        }
        let long = format!("Device.{}", "a".repeat(MAX_NAME_LENGTH));
        assert!(matches!(
            err(vec![param(&long)], vec![dev()]),
            SchemaError::InvalidName { .. }
        ));
        // Tables and instances.
        let table = |p: &str, max| ObjectDef {
            path: p.into(),
            kind: ObjectKind::Table {
                addable: false,
                max_instances: max,
            },
        };
        let inst = |p: &str| ObjectDef {
            path: p.into(),
            kind: ObjectKind::Instance { deletable: false },
        };
        assert!(Schema::new(
            vec![param("Device.T.1.x")],
            vec![dev(), table("Device.T.", Some(1)), inst("Device.T.1.")]
        )
        .is_ok());
        assert!(matches!(
            err(
                vec![],
                vec![dev(), object("Device.T."), inst("Device.T.1.")]
            ),
            SchemaError::Inconsistent { .. }
        ));
        assert!(matches!(
            err(
                vec![],
                vec![dev(), table("Device.T.", None), inst("Device.T.01.")]
            ),
            SchemaError::Inconsistent { .. }
        ));
        assert!(matches!(
            err(
                vec![],
                vec![dev(), table("Device.T.", None), inst("Device.T.0.")]
            ),
            SchemaError::Inconsistent { .. }
        ));
        assert!(matches!(
            err(
                vec![],
                vec![dev(), table("Device.T.", None), inst("Device.T.x.")]
            ),
            SchemaError::Inconsistent { .. }
        ));
        assert!(matches!(
            err(
                vec![],
                vec![dev(), table("Device.T.", None), object("Device.T.S.")]
            ),
            SchemaError::Inconsistent { .. }
        ));
        assert!(matches!(
            err(
                vec![param("Device.T.x")],
                vec![dev(), table("Device.T.", None)]
            ),
            SchemaError::Inconsistent { .. }
        ));
        assert!(matches!(
            err(
                vec![],
                vec![
                    dev(),
                    table("Device.T.", Some(1)),
                    inst("Device.T.1."),
                    inst("Device.T.2.")
                ]
            ),
            SchemaError::Inconsistent { .. }
        ));
    }

    #[test]
    fn refuses_bad_parameters() {
        let dev = || vec![object("Device."), object("Device.ManagementServer.")];
        let with = |f: &dyn Fn(&mut ParamDef)| {
            let mut p = ParamDef::new(
                "Device.x",
                ParamType::new(BaseType::UnsignedInt).with_range(Some(1), Some(65535)),
                Access::ReadWrite,
                Source::Item("x".into()),
            );
            f(&mut p);
            Schema::new(vec![p], dev())
        };
        assert!(with(&|_| {}).is_ok());
        assert!(matches!(
            with(&|p| p.default = Some("0".into())),
            Err(SchemaError::BadDefault { .. })
        ));
        assert!(matches!(
            with(&|p| p.default = Some("x".into())),
            Err(SchemaError::BadDefault { .. })
        ));
        assert!(with(&|p| p.default = Some("5060".into())).is_ok());
        assert!(matches!(
            with(&|p| p.ty.min = Some(70000)),
            Err(SchemaError::Inconsistent { .. })
        ));
        assert!(matches!(
            with(&|p| {
                p.access = Access::ReadOnly;
                p.source = Source::Constant("0".into())
            }),
            Err(SchemaError::BadDefault { .. })
        ));
        assert!(matches!(
            with(&|p| p.source = Source::Constant("1".into())),
            Err(SchemaError::Inconsistent { .. })
        ));
        assert!(matches!(
            with(&|p| p.source = Source::Live),
            Err(SchemaError::Inconsistent { .. })
        ));
        assert!(matches!(
            with(&|p| p.source = Source::Item(String::new())),
            Err(SchemaError::Inconsistent { .. })
        ));
        assert!(matches!(
            with(&|p| p.source = Source::Item("cwmp:x".into())),
            Err(SchemaError::Inconsistent { .. })
        ));
        assert!(matches!(
            with(&|p| {
                p.secret = true;
                p.forced_inform = true
            }),
            Err(SchemaError::SecretForcedInform(_))
        ));
        assert!(matches!(
            with(&|p| p.active_notify = ActiveNotify::ForceEnabled),
            Err(SchemaError::Inconsistent { .. })
        ));
        assert!(with(&|p| {
            p.active_notify = ActiveNotify::ForceEnabled;
            p.default_notification = Notification::Active
        })
        .is_ok());
        assert!(matches!(
            with(&|p| p.default_notification = Notification::ActiveLightweight),
            Err(SchemaError::Inconsistent { .. })
        ));
        // A writable item shared with another parameter; read-only sharing is fine.
        let shared = |access| {
            let a = ParamDef::new(
                "Device.a",
                ParamType::new(BaseType::String),
                access,
                Source::Item("k".into()),
            );
            let b = ParamDef::new(
                "Device.b",
                ParamType::new(BaseType::String),
                Access::ReadOnly,
                Source::Item("k".into()),
            );
            Schema::new(vec![a, b], dev())
        };
        assert!(shared(Access::ReadOnly).is_ok());
        assert!(matches!(
            shared(Access::ReadWrite),
            Err(SchemaError::Inconsistent { .. })
        ));
        // ParameterKey must be a stored string.
        let pk = |source| {
            let p = ParamDef::new(
                "Device.ManagementServer.ParameterKey",
                ParamType::new(BaseType::String),
                Access::ReadOnly,
                source,
            );
            Schema::new(vec![p], dev())
        };
        assert!(pk(Source::Internal).unwrap().parameter_key().is_some());
        assert!(pk(Source::Item("pk".into())).is_ok());
        assert!(matches!(
            pk(Source::Live),
            Err(SchemaError::Inconsistent { .. })
        ));
    }

    #[test]
    fn debug_hides_secret_defaults() {
        let mut p = ParamDef::new(
            "Device.pw",
            ParamType::new(BaseType::String),
            Access::ReadWrite,
            Source::Item("pw".into()),
        );
        p.default = Some("factory-pass".into());
        assert!(format!("{p:?}").contains("factory-pass"));
        p.secret = true;
        assert!(!format!("{p:?}").contains("factory-pass"));
        p.source = Source::Constant("const-pass".into());
        p.access = Access::ReadOnly;
        assert!(!format!("{p:?}").contains("const-pass"));
        let s = Schema::new(vec![p], vec![object("Device.")]).unwrap();
        let shown = format!("{s:?}");
        assert!(
            !shown.contains("const-pass") && !shown.contains("factory-pass"),
            "{shown}"
        );
    }
}
