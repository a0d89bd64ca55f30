//! `cpe-agent`: the simulated Unify OpenScape Desk Phone CP (a TR-069 CPE).
//!
//! ```text
//! cpe-agent --config FILE                       run the phone until SIGTERM/SIGINT
//! cpe-agent admin --config FILE set ITEM VALUE  local admin menu / web-based management
//! cpe-agent admin --config FILE get ITEM
//! cpe-agent admin --config FILE list
//! cpe-agent dhcp --config FILE --option43 HEX   the DHCP client hook (option 43)
//! cpe-agent fleet --config FILE [--count N] [--shard I/N] [--duration SECS] [--summary FILE]
//!                                               many simulated phones (load-testing an ACS)
//! cpe-agent demo                                a guided tour against a built-in ACS
//! cpe-agent check --config FILE                 what fails between the phone and its ACS
//! cpe-agent dhcp --config FILE --option66 TEXT  … a provisioning URL (option 66)
//! cpe-agent dhcp --config FILE --option CODE:HEX … a custom option 128-254
//! cpe-agent provision --config FILE             run an auto-provisioning check now
//! cpe-agent admin --config FILE provisioning    the auto-provisioning access table
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use clap::{Parser, Subcommand};
use cpe_agent::config::Config;
use cpe_agent::control::Request;
use deskphone_datamodel::DeskPhoneModel;
use std::path::PathBuf;
use std::process::ExitCode;

/// The simulated Unify OpenScape Desk Phone CP: a TR-069 (CWMP) CPE daemon.
#[derive(Debug, Parser)]
#[command(name = "cpe-agent", version, args_conflicts_with_subcommands = true)]
struct Cli {
    /// The configuration file (TOML).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Log level (error, warn, info, debug, trace); default: RUST_LOG, else info.
    #[arg(long, value_name = "LEVEL", global = true)]
    log_level: Option<String>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The phone's local admin menu: set, get or list configuration items.
    Admin {
        /// The configuration file (TOML).
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        #[command(subcommand)]
        action: AdminAction,
    },
    /// What the phone's DHCP client does with option 43 (TR-069 sub-options, or a
    /// provisioning URL), option 66 or a custom option 128-254.
    #[command(group(clap::ArgGroup::new("opt").required(true).args(["option43", "option66", "option"])))]
    Dhcp {
        /// The configuration file (TOML).
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// Option 43 in hex digits: TR-069 sub-options 1-4 (TR-069 §3.1), or the text of a
        /// provisioning URL (seed 001 §4.3).
        #[arg(long, value_name = "HEX")]
        option43: Option<String>,
        /// Option 66 (TFTP server name) as text: a provisioning URL; empty: none.
        #[arg(long, value_name = "TEXT")]
        option66: Option<String>,
        /// A custom option 128-254 carrying a provisioning URL, as CODE:HEX.
        #[arg(long, value_name = "CODE:HEX")]
        option: Option<String>,
    },
    /// Run an auto-provisioning check on the running phone now and print its record.
    Provision {
        /// The configuration file (TOML).
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
    },
    /// Many simulated phones in one process, for load-testing an ACS (see `[fleet]`).
    Fleet {
        /// The configuration file (TOML) with a `[fleet]` section.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// Phones in the identity range (overrides `[fleet] count`).
        #[arg(long, value_name = "N")]
        count: Option<u32>,
        /// Run the I-th of N disjoint slices of the identity range (e.g. 0/3).
        #[arg(long, value_name = "I/N")]
        shard: Option<String>,
        /// Stop after this many seconds (default: run until SIGTERM/SIGINT).
        #[arg(long, value_name = "SECS")]
        duration: Option<u64>,
        /// Where to write the JSON summary (default: state-dir/fleet-summary.json); the
        /// HTML report goes beside it.
        #[arg(long, value_name = "FILE")]
        summary: Option<PathBuf>,
    },
    /// Check the configuration and what the phone would do to reach its ACS (DNS, TCP, TLS,
    /// an authenticated Inform, the connection-request port, STUN); exit 0 when all is well,
    /// else name the first failing step and what to do.
    Check {
        /// The configuration file (TOML).
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
    },
    /// A guided tour, nothing to install: a phone and a built-in scripted ACS on 127.0.0.1
    /// (bootstrap, reading the tree, SIP settings, a connection request, a firmware
    /// download with reboot, a factory reset), one line per CWMP message.
    Demo {
        /// Colour the transcript: auto (when stdout is a terminal), always, never.
        #[arg(long, value_name = "WHEN", default_value = "auto")]
        color: ColourChoice,
        /// After the tour, keep the phone running with its web page on this address
        /// (e.g. 127.0.0.1:8080; user admin, password demo) until Ctrl-C.
        #[arg(long, value_name = "ADDR")]
        web: Option<std::net::SocketAddr>,
    },
}

/// When `demo` colours its transcript.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum ColourChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
enum AdminAction {
    /// Set an item (validated like a CWMP set; overrides what the ACS set).
    Set {
        /// OCMS item name, e.g. sip-transport.
        item: String,
        /// The value (PEM text included: `"$(cat cert.pem)"`).
        #[arg(allow_hyphen_values = true)]
        value: String,
    },
    /// Print an item's value (a secret masked, as in `list`, unless `--reveal`).
    Get {
        /// OCMS item name.
        item: String,
        /// Print a secret item's value in clear.
        #[arg(long)]
        reveal: bool,
    },
    /// Print every item as `item = "value"` TOML lines, secrets masked.
    List,
    /// Print the auto-provisioning access table (`state-dir/provisioning.jsonl`).
    Provisioning,
}

/// Exit status for an unusable configuration file (sysexits.h `EX_CONFIG`).
const EX_CONFIG: u8 = 78;

fn load(path: &std::path::Path) -> Result<Config, String> {
    Config::load(path, &DeskPhoneModel::builtin()).map_err(|e| e.to_string())
}

/// What the DHCP hook's arguments ask: option 43 is a provisioning URL when its payload is the
/// text of one (seed 001 §4.3), else TR-069 sub-options (as before auto provisioning).
fn dhcp_request(
    option43: Option<String>,
    option66: Option<String>,
    option: Option<String>,
) -> Result<Request, String> {
    let text_of = |hex_text: &str, what: &str| -> Result<String, String> {
        let digits: String = hex_text
            .chars()
            .filter(|c| !c.is_whitespace() && *c != ':')
            .collect();
        let bytes = hex::decode(digits).map_err(|e| format!("{what}: not hex: {e}"))?;
        String::from_utf8(bytes).map_err(|_| format!("{what}: not text"))
    };
    if let Some(hex43) = option43 {
        if let Ok(text) = text_of(&hex43, "option 43") {
            let probe = text.trim().replace("$mac", "m").replace("$input", "i");
            if deskphone_datamodel::provisioning_url_scheme(&probe).is_some() {
                return Ok(Request::DhcpUrl {
                    option: 43,
                    url: text.trim().to_owned(),
                });
            }
        }
        return Ok(Request::Dhcp { hex: hex43 });
    }
    if let Some(url) = option66 {
        return Ok(Request::DhcpUrl { option: 66, url });
    }
    let spec = option.unwrap_or_default();
    let (code, hex_text) = spec
        .split_once(':')
        .ok_or("--option: expected CODE:HEX, e.g. 160:7466…")?;
    let code: u8 = code
        .trim()
        .parse()
        .ok()
        .filter(|c| (128..=254).contains(c))
        .ok_or("--option: the code must be a custom option 128-254")?;
    let url = text_of(hex_text, &format!("option {code}"))?;
    Ok(Request::DhcpUrl {
        option: code,
        url: url.trim().to_owned(),
    })
}

/// The binary's allocator (a library crate never chooses one for its embedder): mimalloc,
/// because glibc's malloc spent about 15 % of a fleet session's CPU in `free` and chunk
/// consolidation. Built without transparent huge pages (`no_thp`): with them a single phone's
/// idle RSS was 19 MiB instead of 11 MiB (7 MiB with glibc), a price the fleet's CPU is worth
/// (see BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The daemon logs at info by default; admin and dhcp only say what went wrong.
    let default_level =
        if cli.command.is_none() || matches!(cli.command, Some(Command::Fleet { .. })) {
            "info"
        } else {
            "warn"
        };
    let mut logger =
        env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(default_level));
    if let Some(level) = &cli.log_level {
        logger.parse_filters(level);
    }
    logger.init();
    let result = match cli.command {
        None => match cli.config {
            Some(path) => match load(&path) {
                Ok(cfg) => cpe_agent::daemon::run(cfg).map(|()| String::new()),
                Err(e) => {
                    // EX_CONFIG: the unit's RestartPreventExitStatus does not retry it.
                    eprintln!("cpe-agent: {e}");
                    return ExitCode::from(EX_CONFIG);
                }
            },
            None => Err("--config FILE is required (see --help)".into()),
        },
        Some(Command::Admin {
            config,
            action: AdminAction::Provisioning,
        }) => load(&config).map(|cfg| {
            cpe_agent::provision::access_log::render(&cpe_agent::provision::access_log::read(
                &cfg.state_dir,
            ))
        }),
        Some(Command::Admin { config, action }) => load(&config).and_then(|cfg| {
            let req = match &action {
                AdminAction::Set { item, value } => Request::Set {
                    items: vec![(item.clone(), value.clone())],
                },
                AdminAction::Get { item, .. } => Request::Get { item: item.clone() },
                AdminAction::List | AdminAction::Provisioning => Request::List,
            };
            // Decision: `get` masks a secret like `list` does (both end up pasted into
            // tickets); `--reveal` is the explicit way to read one back.
            let masked = match &action {
                AdminAction::Get { item, reveal } => Some(
                    !reveal
                        && DeskPhoneModel::builtin()
                            .item(item)
                            .is_some_and(|i| i.is_secret()),
                ),
                _ => None,
            };
            cpe_agent::daemon::local_request(&cfg, req).map(|out| match masked {
                Some(true) if !out.is_empty() => format!("{}\n", cpe_agent::phone::MASK),
                Some(_) => format!("{out}\n"),
                None => out,
            })
        }),
        Some(Command::Dhcp {
            config,
            option43,
            option66,
            option,
        }) => load(&config).and_then(|cfg| {
            dhcp_request(option43, option66, option)
                .and_then(|req| cpe_agent::daemon::local_request(&cfg, req))
        }),
        Some(Command::Fleet {
            config,
            count,
            shard,
            duration,
            summary,
        }) => {
            let cfg = match cpe_agent::fleet::config::FleetConfig::load(
                &config,
                &DeskPhoneModel::builtin(),
            ) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("cpe-agent: {e}");
                    return ExitCode::from(EX_CONFIG);
                }
            };
            let shard = match shard.as_deref().map(cpe_agent::fleet::config::Shard::parse) {
                None => Ok(cpe_agent::fleet::config::Shard::ALL),
                Some(r) => r,
            };
            shard.and_then(|shard| {
                let opts = cpe_agent::fleet::FleetOptions {
                    count,
                    shard,
                    duration: duration.map(std::time::Duration::from_secs),
                    summary,
                };
                cpe_agent::fleet::run(cfg, opts).map(|()| String::new())
            })
        }
        Some(Command::Check { config }) => {
            let report = cpe_agent::check::run(&config);
            print!("{}", report.render());
            return match report.failed_step() {
                None => ExitCode::SUCCESS,
                Some(_) => ExitCode::FAILURE,
            };
        }
        Some(Command::Demo { color, web }) => {
            let opts = cpe_agent::demo::DemoOptions {
                colour: match color {
                    ColourChoice::Auto => None,
                    ColourChoice::Always => Some(true),
                    ColourChoice::Never => Some(false),
                },
                web,
            };
            cpe_agent::demo::run(&opts).map(|()| String::new())
        }
        Some(Command::Provision { config }) => {
            load(&config).and_then(|cfg| cpe_agent::daemon::local_request(&cfg, Request::Provision))
        }
    };
    match result {
        Ok(out) => {
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("cpe-agent: {e}");
            ExitCode::FAILURE
        }
    }
}
