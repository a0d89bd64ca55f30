//! What the keys of a provisioning file mean on this phone.
//!
//! * Every OCMS item name is a key in any known module (`reg-addr :sip.example.net`,
//!   `<reg-addr>sip.example.net</reg-addr>`).
//! * [`KEY_TABLE`] adds Fanvil-style names (the seed's system) where this phone has the same
//!   setting, each in its module. It is the table the README documents.
//! * The seed's follow-up keys `Auto Image Url`, `Auto Pbook Url` and `Auto Etc Url` start
//!   a download after the file is applied ([`FollowUp`]).
//! * Decisions: `Time Zone` and `Host Name` (the seed's examples) are **skipped and reported**:
//!   the Desk Phone CP data model has neither (its time comes from the NTP servers with the
//!   zone of its locale, and it has no host name item); inventing items the product lacks would
//!   give an ACS parameters it cannot find on the real phone.
//! * Keys in an unknown module, unknown keys and keys of status/identity items (which only the
//!   phone or its configuration file set) are skipped and reported: a general file serves many
//!   models. An invalid value for a known key refuses the whole file.
//! * TOML files (this project's vendor configuration format) stay strict: every key must be a
//!   writable item, as before auto provisioning.

use super::file::{canonical, Format, ProvFile};
use deskphone_datamodel::DeskPhoneModel;

/// The modules a file's keys are read in (canonical names).
pub const MODULES: &[&str] = &[
    "GLOBAL CONFIG MODULE",
    "NET CONFIG MODULE",
    "SIP CONFIG MODULE",
    "AUTOUPDATE CONFIG MODULE",
    "TR069 CONFIG MODULE",
];

/// A download started by a key of the file (seed §1.2 step 6, §4.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FollowUp {
    /// `Auto Image Url`: a firmware image, installed like a TR-069 firmware Download.
    Image,
    /// `Auto Pbook Url`: the phone book (kept; its entry count logged).
    Pbook,
    /// `Auto Etc Url`: a PEM certificate, into `acs-server-ca-certificate-1`.
    Etc,
}

impl FollowUp {
    /// The key's name in the seed.
    pub fn key(self) -> &'static str {
        match self {
            FollowUp::Image => "Auto Image Url",
            FollowUp::Pbook => "Auto Pbook Url",
            FollowUp::Etc => "Auto Etc Url",
        }
    }
}

/// What a table key does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Sets this OCMS item.
    Item(&'static str),
    /// Starts this download.
    FollowUp(FollowUp),
    /// A seed key this phone does not have (skipped, with the reason logged).
    NotOnThisPhone(&'static str),
}

/// One row of the key table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyDef {
    /// Canonical module name.
    pub module: &'static str,
    /// The key as Fanvil files write it.
    pub key: &'static str,
    /// What it does.
    pub target: Target,
}

const fn item(module: &'static str, key: &'static str, item: &'static str) -> KeyDef {
    KeyDef {
        module,
        key,
        target: Target::Item(item),
    }
}

const G: &str = "GLOBAL CONFIG MODULE";
const SIP: &str = "SIP CONFIG MODULE";
const AU: &str = "AUTOUPDATE CONFIG MODULE";
const TR: &str = "TR069 CONFIG MODULE";

/// Fanvil-style keys with the same meaning on this phone (README "Provisioning without an
/// ACS" prints this table). Values are this phone's (booleans `true`/`false` or `1`/`0`,
/// `sip-transport` 0/1/2): a general file written for another model's value set fails
/// validation and is refused whole, as the issue asks.
pub const KEY_TABLE: &[KeyDef] = &[
    KeyDef {
        module: G,
        key: "Time Zone",
        target: Target::NotOnThisPhone("the Desk Phone CP has no time-zone item"),
    },
    KeyDef {
        module: G,
        key: "Host Name",
        target: Target::NotOnThisPhone("the Desk Phone CP has no host-name item"),
    },
    item(G, "SNTP Server", "ntp-server-1"),
    item(G, "Second SNTP Server", "ntp-server-2"),
    item(SIP, "SIP1 Phone Number", "e164"),
    item(SIP, "SIP1 Register User", "sip-user-id"),
    item(SIP, "SIP1 Register Pswd", "sip-pwd"),
    item(SIP, "SIP1 Register Addr", "registrar-addr"),
    item(SIP, "SIP1 Register Port", "sip-registrar-port"),
    item(SIP, "SIP1 Proxy Addr", "reg-addr"),
    item(SIP, "SIP1 Proxy Port", "sip-server-port"),
    item(SIP, "SIP1 Register TTL", "reg-ttl"),
    item(SIP, "SIP1 Transport", "sip-transport"),
    KeyDef {
        module: AU,
        key: "Auto Image Url",
        target: Target::FollowUp(FollowUp::Image),
    },
    KeyDef {
        module: AU,
        key: "Auto Pbook Url",
        target: Target::FollowUp(FollowUp::Pbook),
    },
    KeyDef {
        module: AU,
        key: "Auto Etc Url",
        target: Target::FollowUp(FollowUp::Etc),
    },
    item(AU, "Download Username", "auto-provision-username"),
    item(AU, "Download Password", "auto-provision-password"),
    item(AU, "Download Interval", "auto-provision-update-interval"),
    item(AU, "DHCP Option", "auto-provision-dhcp-option"),
    item(AU, "PnP Enable", "auto-provision-pnp-enable"),
    item(AU, "PnP Transport", "auto-provision-pnp-transport"),
    item(AU, "PnP Interval", "auto-provision-pnp-interval"),
    item(AU, "Config Encrypt Key", "config-encryption-key"),
    item(AU, "Common Cfg Enc Key", "common-config-encryption-key"),
    item(TR, "ACS Server URL", "acs-server-address"),
    item(TR, "ACS User", "acs-username"),
    item(TR, "ACS Password", "acs-password"),
    item(TR, "INFORM Sending Period", "acs-periodic-inform-interval"),
];

/// A file's settings as this phone applies them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resolved {
    /// `(item, canonical value)`, validated, in file order (a later key for the same item
    /// wins).
    pub items: Vec<(String, String)>,
    /// Downloads to start after the items are applied.
    pub follow_ups: Vec<(FollowUp, String)>,
    /// What was skipped and why, one line each (never a value).
    pub skipped: Vec<String>,
}

fn table_key(module: &str, key: &str) -> Option<Target> {
    let k = canonical(key);
    KEY_TABLE
        .iter()
        .find(|d| d.module == module && canonical(d.key) == k)
        .map(|d| d.target)
}

/// Map a parsed file onto this phone and validate every value. `Err` (the whole file
/// refused, nothing applied) lists every bad key with why; it never contains a value.
pub fn resolve(file: &ProvFile, model: &DeskPhoneModel) -> Result<Resolved, String> {
    let mut out = Resolved::default();
    let mut errors = Vec::new();
    for e in &file.entries {
        let place = match &e.module {
            Some(m) => format!("<{m}> {}", e.key),
            None => e.key.clone(),
        };
        let target = if file.format == Format::Toml {
            Target::Item("")
        } else {
            match &e.module {
                None => {
                    out.skipped.push(format!("{place}: outside any module"));
                    continue;
                }
                Some(m) if !MODULES.contains(&m.as_str()) => {
                    out.skipped.push(format!("{place}: unknown module"));
                    continue;
                }
                Some(m) => match table_key(m, &e.key) {
                    Some(t) => t,
                    None if model.item(e.key.trim()).is_some() => Target::Item(""),
                    None => {
                        out.skipped.push(format!("{place}: unknown key"));
                        continue;
                    }
                },
            }
        };
        match target {
            Target::NotOnThisPhone(why) => out.skipped.push(format!("{place}: {why}")),
            Target::FollowUp(kind) => {
                if e.value.is_empty() {
                    continue; // an empty URL asks for nothing
                }
                let probe = e.value.replace("$mac", "mac").replace("$input", "input");
                if deskphone_datamodel::provisioning_url_scheme(&probe).is_none() {
                    errors.push(format!(
                        "{place}: not a tftp://, ftp://, http:// or https:// URL with a host"
                    ));
                } else {
                    out.follow_ups.push((kind, e.value.clone()));
                }
            }
            Target::Item(name) => {
                let name = if name.is_empty() { e.key.trim() } else { name };
                if model.item(name).is_none() {
                    errors.push(format!("{place}: not an item of the Desk Phone CP"));
                    continue;
                }
                if !model.is_locally_writable(name) {
                    if file.format == Format::Toml {
                        errors.push(format!("{place}: a status or identity item"));
                    } else {
                        out.skipped.push(format!(
                            "{place}: a status or identity item, not set by files"
                        ));
                    }
                    continue;
                }
                match model.validate_item(name, &e.value) {
                    Ok(v) => {
                        out.items.retain(|(n, _)| n != name);
                        out.items.push((name.to_owned(), v));
                    }
                    Err(f) => errors.push(format!("{place}: {}", f.message)),
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provision::file::{parse, write_text};

    #[test]
    fn table_rows_name_real_items_in_known_modules() {
        let m = DeskPhoneModel::builtin();
        for d in KEY_TABLE {
            assert!(MODULES.contains(&d.module), "{d:?}");
            if let Target::Item(i) = d.target {
                assert!(m.is_locally_writable(i), "{d:?}");
            }
        }
    }

    #[test]
    fn items_table_keys_follow_ups_and_skips() {
        let m = DeskPhoneModel::builtin();
        let t = write_text(
            "1",
            &[
                (
                    "GLOBAL CONFIG MODULE",
                    &[("Time Zone", "32"), ("reg-ttl", "600")],
                ),
                (
                    "AUTOUPDATE CONFIG MODULE",
                    &[("Auto Image Url", "http://h/x.img"), ("Mystery Key", "1")],
                ),
                (
                    "SIP CONFIG MODULE",
                    &[("SIP1 Register TTL", "900"), ("mac-address", "x")],
                ),
                ("FOO CONFIG MODULE", &[("reg-ttl", "700")]),
            ],
        );
        let r = resolve(&parse(t.as_bytes()).unwrap(), &m).unwrap();
        assert_eq!(r.items, vec![("reg-ttl".to_string(), "900".to_string())]);
        assert_eq!(
            r.follow_ups,
            vec![(FollowUp::Image, "http://h/x.img".to_string())]
        );
        assert_eq!(r.skipped.len(), 4, "{:?}", r.skipped);
        let bad = write_text(
            "1",
            &[(
                "SIP CONFIG MODULE",
                &[("reg-ttl", "5"), ("sip-pwd", "s3cret")],
            )],
        );
        let e = resolve(&parse(bad.as_bytes()).unwrap(), &m).unwrap_err();
        assert!(e.contains("reg-ttl") && !e.contains("s3cret"), "{e}");
        let toml = parse(b"no-such-item = 1\n").unwrap();
        assert!(resolve(&toml, &m).unwrap_err().contains("no-such-item"));
    }
}
