//! The `[fleet]` section of a phone configuration file, `--shard I/N`, and the phones'
//! identities.
//!
//! ```toml
//! [fleet]
//! count = 1000                         # phones (the whole fleet's size when sharded)
//! first-mac = "00:1A:E8:00:00:01"      # phone k gets first-mac + k
//! boot-rate = 200                      # phones started per second
//! max-sessions = 256                   # CWMP sessions in flight at once, across the fleet
//! state = "memory"                     # or "disk": state-dir/phones/<serial>/
//! inform-jitter = 30                   # seconds: spread of periodic informs
//! ```
//!
//! Decisions:
//! * **Sharding.** The identity range is `0..count` (from `[fleet] count` or `--count`);
//!   `--shard I/N` runs the I-th of N contiguous slices of it
//!   (`I·count/N .. (I+1)·count/N`), so N processes given the same file and count cover the
//!   range exactly once, and each process's MAC addresses are one contiguous block.
//! * **Defaults.** `count` has none (a fleet without a size is a mistake); `first-mac`
//!   `00:1A:E8:00:00:01`, `boot-rate` 200, `max-sessions` 256, `state` `memory`,
//!   `inform-jitter` 30.
//! * The rest of the file is the ordinary phone configuration ([`Config`]); its `[items]`
//!   are every phone's factory defaults.

use crate::config::{Config, ConfigError};
use deskphone_datamodel::DeskPhoneModel;
use std::ops::Range;
use std::path::Path;

/// Where the phones keep their state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateMode {
    /// Items and engine state in memory only: every start is a factory-new fleet.
    Memory,
    /// `state-dir/phones/<serial>/` (items file and engine state, written atomically):
    /// a restarted fleet carries on where it stopped.
    Disk,
}

/// The `[fleet]` section.
#[derive(Debug, Clone, PartialEq)]
pub struct FleetSection {
    /// Phones in the identity range.
    pub count: Option<u32>,
    /// The first phone's MAC address as a 48-bit number.
    pub first_mac: u64,
    /// Phones started per second (more than 0).
    pub boot_rate: f64,
    /// CWMP sessions (and downloads) in flight at once.
    pub max_sessions: usize,
    /// Memory or disk.
    pub state: StateMode,
    /// Seconds over which the phones' periodic-inform phases are spread (0: one grid).
    pub inform_jitter: u32,
    /// `udp-port-range = "FIRST-LAST"`: UDP connection requests and STUN (TR-069 Annex G),
    /// phone with global index g on port FIRST + g; `None` (the default): off.
    pub udp_ports: Option<(u16, u16)>,
}

impl Default for FleetSection {
    fn default() -> FleetSection {
        FleetSection {
            count: None,
            first_mac: 0x001A_E800_0001,
            boot_rate: 200.0,
            max_sessions: 256,
            state: StateMode::Memory,
            inform_jitter: 30,
            udp_ports: None,
        }
    }
}

/// A fleet configuration file: the phone configuration plus `[fleet]`.
#[derive(Debug, Clone)]
pub struct FleetConfig {
    /// The ordinary phone configuration (state directory, connection-request address,
    /// `[items]`).
    pub phone: Config,
    /// The `[fleet]` section.
    pub fleet: FleetSection,
}

/// The largest fleet one process runs (the identity range may be larger when sharded).
pub const MAX_PHONES: u32 = 1_000_000;

impl FleetConfig {
    /// Read and validate `path`.
    pub fn load(path: &Path, model: &DeskPhoneModel) -> Result<FleetConfig, ConfigError> {
        let err = |m: String| ConfigError(format!("{}: {m}", path.display()));
        let text = Config::read_file(path)?;
        let mut doc: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| err(e.to_string()))?;
        let fleet = match doc.remove("fleet") {
            Some(v) => parse_section(&v).map_err(|e| err(e.0))?,
            None => FleetSection::default(),
        };
        let rest = toml::to_string(&doc).map_err(|e| err(e.to_string()))?;
        let phone = Config::from_file_text(path, &rest, model)?;
        Ok(FleetConfig { phone, fleet })
    }
}

/// Parse the `[fleet]` table.
pub fn parse_section(value: &toml::Value) -> Result<FleetSection, ConfigError> {
    let table = value
        .as_table()
        .ok_or_else(|| ConfigError("fleet: expected a table".into()))?;
    let mut f = FleetSection::default();
    let mut errors = Vec::new();
    for (key, v) in table {
        match key.as_str() {
            "count" => match v.as_integer().and_then(|n| u32::try_from(n).ok()) {
                Some(n) if n >= 1 => f.count = Some(n),
                _ => errors.push("fleet.count: expected a positive integer".to_owned()),
            },
            "first-mac" => match v.as_str().and_then(parse_mac) {
                Some(m) => f.first_mac = m,
                None => errors.push(
                    "fleet.first-mac: expected a MAC address like \"00:1A:E8:00:00:01\"".into(),
                ),
            },
            "boot-rate" => match v
                .as_float()
                .or_else(|| v.as_integer().map(|n| n as f64))
                .filter(|r| r.is_finite() && *r > 0.0 && *r <= 1e7)
            {
                Some(r) => f.boot_rate = r,
                None => errors.push("fleet.boot-rate: expected phones per second, > 0".into()),
            },
            "max-sessions" => match v.as_integer() {
                Some(n @ 1..=4096) => f.max_sessions = n as usize,
                _ => errors.push("fleet.max-sessions: expected an integer from 1 to 4096".into()),
            },
            "state" => match v.as_str() {
                Some("memory") => f.state = StateMode::Memory,
                Some("disk") => f.state = StateMode::Disk,
                _ => errors.push("fleet.state: expected \"memory\" or \"disk\"".into()),
            },
            "inform-jitter" => match v.as_integer().and_then(|n| u32::try_from(n).ok()) {
                Some(n) => f.inform_jitter = n,
                None => errors.push("fleet.inform-jitter: expected seconds (0 or more)".into()),
            },
            "udp-port-range" => match v.as_str().and_then(parse_port_range) {
                Some(r) => f.udp_ports = Some(r),
                None => errors.push(
                    "fleet.udp-port-range: expected \"FIRST-LAST\" ports, like \"40000-49999\""
                        .into(),
                ),
            },
            other => errors.push(format!("fleet.{other}: unknown key")),
        }
    }
    if errors.is_empty() {
        Ok(f)
    } else {
        Err(ConfigError(errors.join("\n")))
    }
}

/// `"FIRST-LAST"` with 1 <= FIRST <= LAST <= 65535.
fn parse_port_range(text: &str) -> Option<(u16, u16)> {
    let (a, b) = text.trim().split_once('-')?;
    let (a, b): (u16, u16) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
    (a >= 1 && a <= b).then_some((a, b))
}

/// A MAC address (`00:1A:E8:00:00:01`, `-` separators, or 12 bare hex digits) as a number.
pub fn parse_mac(text: &str) -> Option<u64> {
    let digits: String = match text.len() {
        12 => text.to_owned(),
        17 => {
            let sep = text.as_bytes()[2];
            if sep != b':' && sep != b'-' {
                return None;
            }
            let mut d = String::with_capacity(12);
            for (i, c) in text.chars().enumerate() {
                if i % 3 == 2 {
                    if c as u32 != u32::from(sep) {
                        return None;
                    }
                } else {
                    d.push(c);
                }
            }
            d
        }
        _ => return None,
    };
    if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u64::from_str_radix(&digits, 16).ok()
}

/// A MAC address number in the phone's item form, `00:1A:E8:00:00:01`.
pub fn format_mac(mac: u64) -> String {
    let b = mac.to_be_bytes();
    format!(
        "{:02X}:{:02X}:{:02X}:{:02X}:{:02X}:{:02X}",
        b[2], b[3], b[4], b[5], b[6], b[7]
    )
}

/// `--shard I/N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// I, from 0.
    pub index: u32,
    /// N, at least 1.
    pub total: u32,
}

impl Shard {
    /// The whole range.
    pub const ALL: Shard = Shard { index: 0, total: 1 };

    /// Parse `I/N` (0 ≤ I < N).
    pub fn parse(text: &str) -> Result<Shard, String> {
        let (i, n) = text
            .split_once('/')
            .ok_or_else(|| format!("--shard {text:?}: expected I/N, e.g. 0/3"))?;
        let index: u32 = i
            .trim()
            .parse()
            .map_err(|_| format!("--shard {text:?}: I is not a number"))?;
        let total: u32 = n
            .trim()
            .parse()
            .map_err(|_| format!("--shard {text:?}: N is not a number"))?;
        if total == 0 || index >= total {
            return Err(format!("--shard {text:?}: expected 0 <= I < N"));
        }
        Ok(Shard { index, total })
    }

    /// This shard's slice of `0..count`.
    pub fn range(self, count: u32) -> Range<u32> {
        let at = |i: u32| (u64::from(count) * u64::from(i) / u64::from(self.total)) as u32;
        at(self.index)..at(self.index + 1)
    }
}

/// Who the phones of this process are: global index `g` has MAC `first_mac + g`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identities {
    /// First MAC of the whole range.
    pub first_mac: u64,
    /// This process's slice of the range.
    pub range: Range<u32>,
}

impl Identities {
    /// The identities of `count` phones from `first_mac`, sliced by `shard`. Refused when
    /// the MAC addresses would run past `FF:FF:FF:FF:FF:FF`.
    pub fn new(first_mac: u64, count: u32, shard: Shard) -> Result<Identities, String> {
        if first_mac + u64::from(count) > 1 << 48 {
            return Err("fleet.first-mac + count runs past FF:FF:FF:FF:FF:FF".into());
        }
        let range = shard.range(count);
        if range.len() > MAX_PHONES as usize {
            return Err(format!("at most {MAX_PHONES} phones per process"));
        }
        Ok(Identities { first_mac, range })
    }

    /// Phones in this process.
    pub fn len(&self) -> usize {
        self.range.len()
    }

    /// Whether this process has no phone (a shard of a tiny fleet).
    pub fn is_empty(&self) -> bool {
        self.range.is_empty()
    }

    /// The MAC of local phone `k` (0-based within this process).
    pub fn mac(&self, k: u32) -> u64 {
        self.first_mac + u64::from(self.range.start) + u64::from(k)
    }

    /// The serial number of local phone `k` (as the single phone derives it from its MAC).
    pub fn serial(&self, k: u32) -> String {
        deskphone_datamodel::serial_number_from_mac(&format_mac(self.mac(k))).unwrap_or_default()
    }

    /// The local phone whose serial number is `serial`, if it is one of this process's.
    pub fn local_of_serial(&self, serial: &str) -> Option<u32> {
        if serial.len() != 12 {
            return None;
        }
        let mac = parse_mac(serial)?;
        let g = mac.checked_sub(self.first_mac)?;
        let g = u32::try_from(g).ok()?;
        self.range.contains(&g).then(|| g - self.range.start)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_are_disjoint_and_cover() {
        for count in [0u32, 1, 2, 7, 200, 1001] {
            for n in 1..=5 {
                let mut all = Vec::new();
                for i in 0..n {
                    all.extend(Shard { index: i, total: n }.range(count));
                }
                assert_eq!(all, (0..count).collect::<Vec<_>>(), "{count} {n}");
            }
        }
        assert!(Shard::parse("3/3").is_err());
        assert!(Shard::parse("0/0").is_err());
        assert!(Shard::parse("x").is_err());
        assert_eq!(Shard::parse("1/3").unwrap(), Shard { index: 1, total: 3 });
    }

    #[test]
    fn identities() {
        let first = parse_mac("00:1A:E8:00:00:01").unwrap();
        let ids = Identities::new(first, 10, Shard { index: 1, total: 2 }).unwrap();
        assert_eq!(ids.len(), 5);
        assert_eq!(format_mac(ids.mac(0)), "00:1A:E8:00:00:06");
        assert_eq!(ids.serial(0), "001AE8000006");
        assert_eq!(ids.local_of_serial("001AE8000006"), Some(0));
        assert_eq!(ids.local_of_serial("001AE8000005"), None);
        assert_eq!(ids.local_of_serial("001AE800000B"), None);
        assert_eq!(ids.local_of_serial("zz"), None);
        assert!(Identities::new(0xFFFF_FFFF_FFFF, 2, Shard::ALL).is_err());
    }

    #[test]
    fn section() {
        let v: toml::Value = toml::from_str::<toml::Table>(
            "count = 5\nfirst-mac = \"00-1A-E8-00-00-10\"\nboot-rate = 2.5\nmax-sessions = 3\n\
             state = \"disk\"\ninform-jitter = 0",
        )
        .unwrap()
        .into();
        let f = parse_section(&v).unwrap();
        assert_eq!(f.count, Some(5));
        assert_eq!(f.first_mac, 0x001A_E800_0010);
        assert_eq!(f.boot_rate, 2.5);
        assert_eq!(f.max_sessions, 3);
        assert_eq!(f.state, StateMode::Disk);
        assert_eq!(f.inform_jitter, 0);
        assert_eq!(f.udp_ports, None);
        let udp: toml::Value = toml::from_str::<toml::Table>("udp-port-range = \"40000-40009\"")
            .unwrap()
            .into();
        assert_eq!(parse_section(&udp).unwrap().udp_ports, Some((40000, 40009)));
        for bad in ["\"9-8\"", "\"0-5\"", "\"1-70000\"", "\"x\"", "5"] {
            let v: toml::Value = toml::from_str::<toml::Table>(&format!("udp-port-range = {bad}"))
                .unwrap()
                .into();
            assert!(parse_section(&v).is_err(), "{bad}");
        }
        let bad: toml::Value = toml::from_str::<toml::Table>("state = \"x\"\nbogus = 1")
            .unwrap()
            .into();
        let e = parse_section(&bad).unwrap_err().0;
        assert!(e.contains("fleet.state") && e.contains("fleet.bogus"));
    }
}
