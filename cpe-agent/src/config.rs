//! The daemon's configuration file (TOML).
//!
//! ```toml
//! state-dir = "/var/lib/cpe-agent"                 # created if missing
//! connection-request-address = "0.0.0.0:7547"     # HTTP connection-request listener
//! udp-address = "0.0.0.0:7547"                    # STUN and UDP connection requests
//! connection-request-burst = 10                   # requests at once beyond a session's free one
//! connection-request-rate = 1                     # and then this many per second (may be 0.5)
//! # config-encryption-key = "<64 hex digits>"    # decrypts vendor configuration files
//! # web-address = "0.0.0.0:8080"                 # web-based management (absent: off)
//! # web-https-address = "0.0.0.0:8443"           # the same over HTTPS (device certificate)
//! #                  (the item of the same name, when set, wins: seed 001 auto provisioning)
//!
//! [tr064]                                         # LAN-side management (optional)
//! http-address = "0.0.0.0:49000"                  # tr64desc.xml, SCPD files, control URLs
//! https-address = "0.0.0.0:49443"                 # the same over TLS (GetSecurityPort)
//! ssdp = true                                     # answer M-SEARCH
//! ssdp-address = "0.0.0.0:1900"                   # unicast M-SEARCH to it is always answered
//! ssdp-interfaces = ["eth0"]                      # where to join 239.255.255.250
//! # ssdp-notify = false                           # NOTIFY ssdp:alive (AVM sends none)
//! # transaction-timeout = 45                      # seconds until a transaction rolls back
//!
//! [items]                                         # factory defaults, by OCMS item name
//! acs-server-address = "http://127.0.0.1:7547/"
//! mac-address = "00:1A:E8:A1:B2:C3"
//! acs-periodic-inform-interval = 3600
//! ```
//!
//! Every key is checked when the file is loaded: unknown keys, unknown items and invalid
//! values (validated exactly like a CWMP SetParameterValues, see
//! [`DeskPhoneModel::validate_item`]) are refused with a message naming the key, so a typo
//! never silently runs the phone with a default.

use crate::items::toml_to_lexical;
use crate::tr064::Tr064Config;
use cwmp_model::Secret;
use deskphone_datamodel::DeskPhoneModel;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Largest configuration file read (the PEM items make it a few tens of KiB at most).
const MAX_CONFIG_BYTES: u64 = 4 * 1024 * 1024;

/// A loaded and validated configuration file.
#[derive(Clone, PartialEq, Eq)]
pub struct Config {
    /// The state directory (items, CWMP state, traces, control socket, lock).
    pub state_dir: PathBuf,
    /// Where the HTTP connection-request listener binds (`None`: no listener).
    pub connection_request_address: Option<SocketAddr>,
    /// Where the UDP socket for STUN and UDP connection requests binds (`None`: none).
    pub udp_address: Option<SocketAddr>,
    /// `connection-request-burst`: HTTP connection requests accepted back to back beyond each
    /// session's free one (1 to 10000; default 10, [`cwmp_client::ConnectionRequestConfig`]).
    pub connection_request_burst: u32,
    /// `connection-request-rate` (requests per second, more than 0 and at most 1000; default
    /// 1) as the interval at which the burst refills.
    pub connection_request_refill: Duration,
    /// The key that decrypts vendor configuration files (64 hex digits, AES-256; see
    /// `vendor_config`), `config-encryption-key`; `None`: files are plain. The item
    /// `config-encryption-key`, when set, wins (auto provisioning, `crate::provision`).
    pub config_encryption_key: Option<Secret>,
    /// The factory defaults given in `[items]`, canonical lexical forms, in file order.
    pub items: Vec<(String, String)>,
    /// The `[tr064]` section (`None`: no TR-064 interface).
    pub tr064: Option<Tr064Config>,
    /// `web-address`: the web-based management over HTTP (`None`: off).
    pub web_address: Option<SocketAddr>,
    /// `web-https-address`: the same over HTTPS with the device certificate (`None`: off).
    pub web_https_address: Option<SocketAddr>,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Item values may be passwords or keys: only their names are shown.
        f.debug_struct("Config")
            .field("state_dir", &self.state_dir)
            .field(
                "connection_request_address",
                &self.connection_request_address,
            )
            .field("udp_address", &self.udp_address)
            .field("connection_request_burst", &self.connection_request_burst)
            .field("connection_request_refill", &self.connection_request_refill)
            .field("tr064", &self.tr064)
            .field("web_address", &self.web_address)
            .field("web_https_address", &self.web_https_address)
            .field("config_encryption_key", &self.config_encryption_key)
            .field(
                "items",
                &self
                    .items
                    .iter()
                    .map(|(k, _)| k.as_str())
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// Why a configuration file was refused. The message names the file and the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Read and validate the file at `path`.
    pub fn load(path: &Path, model: &DeskPhoneModel) -> Result<Config, ConfigError> {
        Config::from_file_text(path, &Config::read_file(path)?, model)
    }

    /// The text of the configuration file at `path`, refused beyond 4 MiB
    /// (also the fleet's file, whose `[fleet]` section is taken out before
    /// [`from_file_text`](Self::from_file_text)).
    pub fn read_file(path: &Path) -> Result<String, ConfigError> {
        let err = |m: String| ConfigError(format!("{}: {m}", path.display()));
        let meta = std::fs::metadata(path).map_err(|e| err(e.to_string()))?;
        if meta.len() > MAX_CONFIG_BYTES {
            return Err(err(format!("larger than {MAX_CONFIG_BYTES} bytes")));
        }
        std::fs::read_to_string(path).map_err(|e| err(e.to_string()))
    }

    /// Parse `text` read from `path`: every problem names the file, and a relative state
    /// directory is relative to the file.
    pub fn from_file_text(
        path: &Path,
        text: &str,
        model: &DeskPhoneModel,
    ) -> Result<Config, ConfigError> {
        let mut cfg = Config::parse(text, model).map_err(|e| {
            // One line per problem, each naming the file.
            ConfigError(
                e.0.lines()
                    .map(|l| format!("{}: {l}", path.display()))
                    .collect::<Vec<_>>()
                    .join("\n"),
            )
        })?;
        // A relative state directory is relative to the configuration file, so the example
        // config runs from any working directory.
        if cfg.state_dir.is_relative() {
            let base = path.parent().unwrap_or(Path::new("."));
            cfg.state_dir = base.join(&cfg.state_dir);
        }
        Ok(cfg)
    }

    /// Parse and validate configuration text. Every problem is reported, one line each
    /// (an operator fixes them all in one go, not one per start).
    pub fn parse(text: &str, model: &DeskPhoneModel) -> Result<Config, ConfigError> {
        let doc: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| ConfigError(e.to_string()))?;
        let mut errors: Vec<String> = Vec::new();
        let mut state_dir = None;
        let mut connection_request_address = None;
        let mut udp_address = None;
        let mut items = Vec::new();
        let mut config_encryption_key = None;
        let cr_defaults = cwmp_client::ConnectionRequestConfig::default();
        let mut connection_request_burst = cr_defaults.burst;
        let mut connection_request_refill = cr_defaults.refill_every;
        let mut tr064 = None;
        let mut web_address = None;
        let mut web_https_address = None;
        for (key, value) in &doc {
            match key.as_str() {
                "state-dir" => match value.as_str() {
                    Some(s) if !s.is_empty() => state_dir = Some(PathBuf::from(s)),
                    _ => errors.push("state-dir: expected a non-empty path".into()),
                },
                "connection-request-address" => match socket_addr(key, value) {
                    Ok(a) => connection_request_address = Some(a),
                    Err(e) => errors.push(e.0),
                },
                "udp-address" => match socket_addr(key, value) {
                    Ok(a) => udp_address = Some(a),
                    Err(e) => errors.push(e.0),
                },
                "web-address" => match socket_addr(key, value) {
                    Ok(a) => web_address = Some(a),
                    Err(e) => errors.push(e.0),
                },
                "web-https-address" => match socket_addr(key, value) {
                    Ok(a) => web_https_address = Some(a),
                    Err(e) => errors.push(e.0),
                },
                "connection-request-burst" => {
                    match value.as_integer().and_then(|n| u32::try_from(n).ok()) {
                        Some(n @ 1..=10_000) => connection_request_burst = n,
                        _ => errors.push(
                            "connection-request-burst: expected an integer from 1 to 10000".into(),
                        ),
                    }
                }
                "connection-request-rate" => {
                    match value
                        .as_float()
                        .or_else(|| value.as_integer().map(|n| n as f64))
                        .filter(|r| r.is_finite() && *r > 0.0 && *r <= 1000.0)
                    {
                        Some(rate) => {
                            connection_request_refill = Duration::from_secs_f64(1.0 / rate)
                        }
                        None => errors.push(
                            "connection-request-rate: expected requests per second, \
                             more than 0 and at most 1000 (e.g. 1 or 0.5)"
                                .into(),
                        ),
                    }
                }
                "config-encryption-key" => match value.as_str() {
                    Some(k) if k.len() == 64 && k.bytes().all(|b| b.is_ascii_hexdigit()) => {
                        config_encryption_key = Some(Secret::from(k))
                    }
                    _ => errors.push("config-encryption-key: expected 64 hex digits".into()),
                },
                "items" => {
                    let Some(table) = value.as_table() else {
                        errors.push("items: expected a table of OCMS items".into());
                        continue;
                    };
                    for (name, v) in table {
                        let lexical = match toml_to_lexical(v) {
                            Ok(l) => l,
                            Err(e) => {
                                errors.push(format!("items.{name}: {e}"));
                                continue;
                            }
                        };
                        if model.item(name).is_none() {
                            errors.push(format!(
                                "items.{name}: not an item of the Desk Phone CP data model"
                            ));
                            continue;
                        }
                        match model.validate_item(name, &lexical) {
                            Ok(canonical) => items.push((name.clone(), canonical)),
                            Err(f) => {
                                errors.push(format!("items.{name}: invalid value ({})", f.message))
                            }
                        }
                    }
                }
                "tr064" => match parse_tr064(value) {
                    Ok(t) => tr064 = Some(t),
                    Err(e) => errors.push(e.0),
                },
                // `cpe-agent fleet`'s section (see `crate::fleet::config`): the same file
                // runs one phone with `cpe-agent --config`, which ignores it.
                "fleet" => {}
                other => errors.push(format!("{other}: unknown key")),
            }
        }
        if state_dir.is_none() && !doc.contains_key("state-dir") {
            errors.push("state-dir: missing".into());
        }
        match state_dir {
            Some(state_dir) if errors.is_empty() => Ok(Config {
                state_dir,
                connection_request_address,
                udp_address,
                connection_request_burst,
                connection_request_refill,
                config_encryption_key,
                items,
                tr064,
                web_address,
                web_https_address,
            }),
            _ => Err(ConfigError(errors.join("\n"))),
        }
    }
}

fn parse_tr064(value: &toml::Value) -> Result<Tr064Config, ConfigError> {
    let table = value
        .as_table()
        .ok_or_else(|| ConfigError("tr064: expected a table".into()))?;
    let mut c = Tr064Config::default();
    let boolean = |key: &str, v: &toml::Value| {
        v.as_bool()
            .ok_or_else(|| ConfigError(format!("tr064.{key}: expected true or false")))
    };
    for (key, v) in table {
        let full = format!("tr064.{key}");
        match key.as_str() {
            "http-address" => c.http_address = Some(socket_addr(&full, v)?),
            "https-address" => c.https_address = Some(socket_addr(&full, v)?),
            "ssdp" => c.ssdp = boolean(key, v)?,
            "ssdp-notify" => c.ssdp_notify = boolean(key, v)?,
            "ssdp-address" => c.ssdp_address = socket_addr(&full, v)?,
            "ssdp-interfaces" => {
                c.ssdp_interfaces = v
                    .as_array()
                    .and_then(|a| {
                        a.iter()
                            .map(|i| i.as_str().filter(|s| !s.is_empty()).map(str::to_owned))
                            .collect::<Option<Vec<_>>>()
                    })
                    .ok_or_else(|| {
                        ConfigError(format!("{full}: expected a list of interface names"))
                    })?
            }
            "transaction-timeout" => match v.as_integer() {
                Some(s) if (1..=3600).contains(&s) => {
                    c.transaction_timeout = std::time::Duration::from_secs(s as u64)
                }
                _ => return Err(ConfigError(format!("{full}: expected seconds, 1 to 3600"))),
            },
            other => return Err(ConfigError(format!("tr064.{other}: unknown key"))),
        }
    }
    Ok(c)
}

fn socket_addr(key: &str, value: &toml::Value) -> Result<SocketAddr, ConfigError> {
    value
        .as_str()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| ConfigError(format!("{key}: expected \"address:port\"")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model() -> DeskPhoneModel {
        DeskPhoneModel::builtin()
    }

    #[test]
    fn parses_the_documented_form() {
        let c = Config::parse(
            "state-dir = \"/var/lib/x\"\nconnection-request-address = \"0.0.0.0:7547\"\n\
             udp-address = \"0.0.0.0:7547\"\n[items]\nacs-periodic-inform-interval = 60\n\
             acs-periodic-inform-enabled = \"1\"\nsip-transport = 2\n",
            &model(),
        )
        .unwrap();
        assert_eq!(c.state_dir, PathBuf::from("/var/lib/x"));
        assert_eq!(
            c.items,
            vec![
                ("acs-periodic-inform-enabled".into(), "true".into()),
                ("acs-periodic-inform-interval".into(), "60".into()),
                ("sip-transport".into(), "2".into()),
            ]
        );
    }

    #[test]
    fn refusals_name_the_key() {
        let m = model();
        let e = |t: &str| Config::parse(t, &m).unwrap_err().0;
        assert!(e("state-dir = \"x\"\nbogus = 1").contains("bogus"));
        assert!(e("state-dir = \"x\"\n[items]\nno-such-item = 1").contains("no-such-item"));
        assert!(e("state-dir = \"x\"\n[items]\nsip-transport = 7").contains("sip-transport"));
        assert!(e("state-dir = \"x\"\n[items]\nreg-ttl = 1.5").contains("reg-ttl"));
        assert!(e("state-dir = \"x\"\nudp-address = \"nope\"").contains("udp-address"));
        assert!(e("udp-address = \"0.0.0.0:1\"").contains("state-dir"));
    }

    #[test]
    fn connection_request_limits() {
        let m = model();
        let c = Config::parse("state-dir = \"x\"", &m).unwrap();
        assert_eq!(c.connection_request_burst, 10);
        assert_eq!(c.connection_request_refill, Duration::from_secs(1));
        let c = Config::parse(
            "state-dir = \"x\"\nconnection-request-burst = 30\nconnection-request-rate = 4",
            &m,
        )
        .unwrap();
        assert_eq!(c.connection_request_burst, 30);
        assert_eq!(c.connection_request_refill, Duration::from_millis(250));
        let c = Config::parse("state-dir = \"x\"\nconnection-request-rate = 0.5", &m).unwrap();
        assert_eq!(c.connection_request_refill, Duration::from_secs(2));
        let e = |t: &str| {
            Config::parse(&format!("state-dir = \"x\"\n{t}"), &m)
                .unwrap_err()
                .0
        };
        for bad in [
            "connection-request-burst = 0",
            "connection-request-burst = -1",
            "connection-request-burst = 10001",
            "connection-request-burst = 2.5",
            "connection-request-burst = \"10\"",
        ] {
            assert!(e(bad).contains("connection-request-burst"), "{bad}");
        }
        for bad in [
            "connection-request-rate = 0",
            "connection-request-rate = -1",
            "connection-request-rate = 1001",
            "connection-request-rate = nan",
            "connection-request-rate = inf",
            "connection-request-rate = \"1\"",
        ] {
            assert!(e(bad).contains("connection-request-rate"), "{bad}");
        }
    }

    #[test]
    fn tr064_section() {
        let m = model();
        let c = Config::parse(
            "state-dir = \"x\"\n[tr064]\nhttp-address = \"0.0.0.0:49000\"\n\
             https-address = \"0.0.0.0:49443\"\nssdp = true\nssdp-address = \"0.0.0.0:1900\"\n\
             ssdp-interfaces = [\"eth0\"]\n",
            &m,
        )
        .unwrap();
        let t = c.tr064.unwrap();
        assert_eq!(t.http_address, Some("0.0.0.0:49000".parse().unwrap()));
        assert_eq!(t.https_address, Some("0.0.0.0:49443".parse().unwrap()));
        assert!(t.ssdp && !t.ssdp_notify);
        assert_eq!(t.ssdp_interfaces, ["eth0"]);
        assert_eq!(
            t.transaction_timeout,
            crate::tr064::DEFAULT_TRANSACTION_TIMEOUT
        );
        let e = |t: &str| Config::parse(t, &m).unwrap_err().0;
        assert!(e("state-dir = \"x\"\n[tr064]\nbogus = 1").contains("tr064.bogus"));
        assert!(e("state-dir = \"x\"\n[tr064]\nssdp = 1").contains("tr064.ssdp"));
        assert!(
            e("state-dir = \"x\"\n[tr064]\nhttp-address = \"x\"").contains("tr064.http-address")
        );
        assert!(Config::parse("state-dir = \"x\"", &m)
            .unwrap()
            .tr064
            .is_none());
    }

    #[test]
    fn debug_hides_values() {
        let c = Config::parse(
            "state-dir = \"x\"\n[items]\nacs-password = \"hunter2\"\n",
            &model(),
        )
        .unwrap();
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
