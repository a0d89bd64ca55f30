//! The pages: server-rendered HTML, no scripts, fonts or other external resources, every
//! value escaped with [`esc`]; a narrow layout that fits a phone's screen.

use deskphone_datamodel::{DeskPhoneModel, OcmsStore};
use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

/// Escape text for HTML element content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// What every logged-in page needs.
pub struct Ctx<'a> {
    /// The session's CSRF token.
    pub csrf: &'a str,
    /// Whether the TR-064 page exists.
    pub tr064: bool,
}

const STYLE: &str = "body{font-family:sans-serif;margin:0;color:#222;background:#f6f6f6}\
header{background:#234;color:#fff;padding:.5em 1em}header a,header button{color:#fff;margin-right:1em}\
nav{display:flex;flex-wrap:wrap;align-items:center}nav form{display:inline;margin:0}\
nav button{background:none;border:1px solid #fff;border-radius:3px;cursor:pointer}\
main{padding:1em;max-width:60em}table{border-collapse:collapse;width:100%;background:#fff}\
td,th{border-bottom:1px solid #ddd;padding:.35em;text-align:left;vertical-align:top;word-break:break-word}\
th{width:35%}.error{color:#b00;font-weight:bold}.ok{color:#070;font-weight:bold}\
.muted{color:#777;font-size:90%}input[type=text],input[type=password]{width:100%;box-sizing:border-box}\
textarea{width:100%;box-sizing:border-box;font-family:monospace}\
button{padding:.3em .8em}h2{margin-top:1.5em;font-size:1.1em}svg{background:#fff;max-width:100%}\
table.log th{width:auto}";

fn layout(title: &str, nav: Option<&Ctx<'_>>, body: &str) -> String {
    let mut h = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} – Desk Phone CP</title><style>{STYLE}</style></head><body><header>",
        esc(title)
    );
    match nav {
        Some(ctx) => {
            h.push_str(
                "<nav><strong style=\"margin-right:1em\">Desk Phone CP</strong>\
                 <a href=\"/\">Status</a><a href=\"/config\">Configuration</a>\
                 <a href=\"/actions\">Actions</a><a href=\"/sessions\">Sessions</a>\
                 <a href=\"/provisioning\">Provisioning</a>",
            );
            if ctx.tr064 {
                h.push_str("<a href=\"/tr064\">TR-064</a>");
            }
            let _ = write!(
                h,
                "<form method=\"post\" action=\"/logout\"><input type=\"hidden\" name=\"csrf\" \
                 value=\"{}\"><button type=\"submit\">Log out</button></form></nav>",
                esc(ctx.csrf)
            );
        }
        None => h.push_str("<strong>Desk Phone CP</strong>"),
    }
    let _ = write!(
        h,
        "</header><main><h1>{}</h1>{body}</main></body></html>",
        esc(title)
    );
    h
}

/// A page with a title and one sentence (errors, refusals).
pub fn message(title: &str, text: &str) -> String {
    layout(title, None, &format!("<p>{}</p>", esc(text)))
}

/// The login page; `pre` is the pre-login CSRF token.
pub fn login(pre: &str, error: Option<&str>) -> String {
    let err = error
        .map(|e| format!("<p class=\"error\" id=\"login-error\">{}</p>", esc(e)))
        .unwrap_or_default();
    layout(
        "Log in",
        None,
        &format!(
            "{err}<form method=\"post\" action=\"/login\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
             <p><label>User name<br><input type=\"text\" name=\"username\" id=\"username\" autocomplete=\"username\"></label></p>\
             <p><label>Password<br><input type=\"password\" name=\"password\" id=\"password\" autocomplete=\"current-password\"></label></p>\
             <p><button type=\"submit\" id=\"login\">Log in</button></p></form>\
             <p class=\"muted\">The phone's local administrator (items admin-username and admin-password, shared with TR-064).</p>",
            esc(pre)
        ),
    )
}

/// What the Status page shows from the store.
#[derive(Debug, Clone, Default)]
pub struct StatusFacts {
    rows: Vec<(&'static str, String)>,
}

fn internal(store: &mut OcmsStore, param: &str) -> String {
    cwmp_model::ParameterStore::internal_value(store, param)
        .map(|v| v.to_lexical())
        .unwrap_or_default()
}

/// Read the Status page's values (on the driver's thread).
pub fn status_facts(store: &mut OcmsStore, model: &DeskPhoneModel) -> StatusFacts {
    let item = |s: &OcmsStore, n: &str| model.item_value(s.backend(), n).unwrap_or_default();
    let url = item(store, "acs-server-address");
    let uptime: u64 = internal(store, "Device.DeviceInfo.UpTime")
        .parse()
        .unwrap_or(0);
    let periodic = if item(store, "acs-periodic-inform-enabled") == "true" {
        format!(
            "periodic Inform every {} s",
            item(store, "acs-periodic-inform-interval")
        )
    } else {
        "no periodic Inform (acs-periodic-inform-enabled is off)".to_string()
    };
    let stun = if item(store, "acs-stun-enable") == "true" {
        format!(
            "STUN on ({}:{}); NAT detected: {}; UDP connection-request address: {}",
            item(store, "acs-stun-server-address"),
            item(store, "acs-stun-server-port"),
            internal(store, "Device.ManagementServer.NATDetected"),
            internal(store, "Device.ManagementServer.UDPConnectionRequestAddress")
        )
    } else {
        "STUN off".to_string()
    };
    let tls = if url.to_ascii_lowercase().starts_with("https://") {
        format!(
            "https; server certificate checked against {}; client certificate: {}",
            if item(store, "acs-server-ca-certificate-1").is_empty()
                && item(store, "acs-server-ca-certificate-2").is_empty()
            {
                "the default roots"
            } else {
                "the CA items"
            },
            if item(store, "acs-client-certificate").is_empty() {
                "the default device certificate"
            } else {
                "acs-client-certificate"
            }
        )
    } else if url.is_empty() {
        "no ACS".to_string()
    } else {
        "plain http (no TLS)".to_string()
    };
    StatusFacts {
        rows: vec![
            ("Model", item(store, "device-type")),
            (
                "Serial number",
                internal(store, "Device.DeviceInfo.SerialNumber"),
            ),
            ("MAC address", item(store, "mac-address")),
            ("Software version", item(store, "standard-software-version")),
            (
                "Device status",
                internal(store, "Device.DeviceInfo.DeviceStatus"),
            ),
            ("Uptime", format!("{uptime} s")),
            ("ACS URL", url),
            ("Next scheduled session", periodic),
            ("Connection-request URL", item(store, "acs-request-address")),
            ("NAT / STUN", stun),
            ("TLS", tls),
        ],
    }
}

/// The Status page.
pub fn status(
    ctx: &Ctx<'_>,
    facts: &StatusFacts,
    web_up: Duration,
    pending: &[String],
    last: Option<&SessionSummary>,
) -> String {
    let mut t = String::from("<table id=\"status\">");
    for (k, v) in &facts.rows {
        let _ = write!(t, "<tr><th>{}</th><td>{}</td></tr>", esc(k), esc(v));
    }
    let last_text = match last {
        Some(s) => format!(
            "<a href=\"/sessions/{}\">{}</a>: events {}; {}",
            esc(&s.file),
            esc(&s.started),
            esc(&s.events),
            esc(&s.result)
        ),
        None => "none yet".to_string(),
    };
    let _ = write!(
        t,
        "<tr><th>Last session</th><td>{last_text}</td></tr>\
         <tr><th>Pending events</th><td>{}</td></tr>\
         <tr><th>Web interface up</th><td>{} s</td></tr></table>",
        esc(&if pending.is_empty() {
            "none".to_string()
        } else {
            pending.join(", ")
        }),
        web_up.as_secs()
    );
    layout("Status", Some(ctx), &t)
}

/// One item on the Configuration page.
#[derive(Debug, Clone)]
pub struct ItemRow {
    name: String,
    value: String,
    /// Where the value came from: `acs`, `local`, `provisioning` (recorded with the value),
    /// `device` (an identity or status item the phone keeps) or `factory`.
    origin: &'static str,
    writable: bool,
    secret: bool,
    multiline: bool,
}

/// Read every item (on the driver's thread).
pub fn item_rows(store: &mut OcmsStore, model: &DeskPhoneModel) -> Vec<ItemRow> {
    model
        .items()
        .iter()
        .map(|it| {
            let value = model
                .item_value(store.backend(), it.name())
                .unwrap_or_default();
            let writable = model.is_locally_writable(it.name());
            let origin = match cwmp_model::ValueOrigin::of(store.backend(), it.name()) {
                Some(o) => o.as_str(),
                None if !writable => "device",
                None => "factory",
            };
            ItemRow {
                name: it.name().to_string(),
                origin,
                writable,
                secret: it.is_secret(),
                multiline: value.contains('\n')
                    || it.name().contains("certificate")
                    || it.name().ends_with("-key"),
                value,
            }
        })
        .collect()
}

/// The seed's "Generic Configuration Items" (admin menu: Network → Update Service → ACS).
const GENERIC_ITEMS: [&str; 7] = [
    "acs-server-address",
    "acs-username",
    "acs-password",
    "acs-periodic-inform-enabled",
    "acs-periodic-inform-interval",
    "acs-http-request-enable",
    "acs-stun-enable",
];
/// The seed's items that "can only be configured via Cloud Deployment or ACS".
const CERTIFICATE_ITEMS: [&str; 4] = [
    "acs-server-ca-certificate-1",
    "acs-server-ca-certificate-2",
    "acs-client-certificate",
    "acs-client-key",
];
const GENERIC_GROUP: &str =
    "Generic configuration items (admin menu: Network → Update Service → ACS)";
const CERTIFICATE_GROUP: &str = "Certificates (set via Cloud Deployment or the ACS)";

/// The group of an item, as the seed groups them: its "Generic Configuration Items" first,
/// then the certificates "only via Cloud Deployment or ACS", then the TR-069 items by the
/// object of their parameter in the seed's table order (the model keeps the seed's order);
/// items without a TR-069 name come last.
fn group_of(model: &DeskPhoneModel, item: &str) -> String {
    if GENERIC_ITEMS.contains(&item) {
        return GENERIC_GROUP.to_owned();
    }
    if CERTIFICATE_ITEMS.contains(&item) {
        return CERTIFICATE_GROUP.to_owned();
    }
    match model.param_for_item(item) {
        Some(p) => {
            let name = p.name.as_str();
            name.rsplit_once('.')
                .map(|(obj, _)| format!("{obj}."))
                .unwrap_or_else(|| name.to_string())
        }
        None => "Items without a TR-069 name (local settings, Cloud Deployment, provisioning)"
            .to_string(),
    }
}

/// The Configuration page; `error` = (item, value entered, message).
pub fn config(
    ctx: &Ctx<'_>,
    model: &DeskPhoneModel,
    rows: &[ItemRow],
    error: Option<(&str, &str, &str)>,
    saved: Option<&str>,
) -> String {
    let mut groups: Vec<(String, Vec<&ItemRow>)> = Vec::new();
    for r in rows {
        let g = group_of(model, &r.name);
        match groups.iter_mut().find(|(n, _)| *n == g) {
            Some((_, v)) => v.push(r),
            None => groups.push((g, vec![r])),
        }
    }
    // The seed's order: its two item lists, then groups in the order of their first
    // parameter in the table.
    let order = |g: &str| match g {
        GENERIC_GROUP => 0,
        CERTIFICATE_GROUP => 1,
        _ => model
            .rows()
            .iter()
            .position(|r| r.path.starts_with(g))
            .map_or(usize::MAX, |i| i + 2),
    };
    groups.sort_by_key(|(g, _)| order(g));
    let mut b = String::from(
        "<p class=\"muted\">A change here is a local change: it overrides what the ACS set and \
         reaches the ACS as 4 VALUE CHANGE under the notification rules. Values are checked \
         like a CWMP SetParameterValues. Secrets are write-only (an empty field keeps them). \
         Origin: where the value came from: factory (the configuration file's [items] or the \
         data model), acs (SetParameterValues or a downloaded configuration file), local (this \
         page, cpe-agent admin, TR-064), provisioning (Cloud Deployment, DHCP, provisioning \
         files), device (identity and status items the phone keeps).</p>",
    );
    if let Some(s) = saved {
        let _ = write!(b, "<p class=\"ok\" id=\"saved\">Saved {}.</p>", esc(s));
    }
    if let Some((item, _, msg)) = error {
        let _ = write!(
            b,
            "<p class=\"error\">Not saved: <a href=\"#{0}\">{0}</a> (see below).</p>",
            esc(item)
        );
        let _ = msg;
    }
    for (g, items) in &groups {
        let _ = write!(b, "<h2>{}</h2><table>", esc(g));
        for r in items {
            let (value, err) = match error {
                Some((item, v, m)) if item == r.name => (v.to_string(), Some(m)),
                _ => (r.value.clone(), None),
            };
            let origin = r.origin;
            let _ = write!(
                b,
                "<tr id=\"{0}\"><th>{0}<br><span class=\"muted\">{1}</span></th><td>",
                esc(&r.name),
                origin
            );
            if !r.writable {
                let _ = write!(
                    b,
                    "<span>{}</span> <span class=\"muted\">(configuration file only)</span>",
                    esc(if r.secret && !r.value.is_empty() {
                        crate::phone::MASK
                    } else {
                        &r.value
                    })
                );
            } else {
                let _ = write!(
                    b,
                    "<form method=\"post\" action=\"/config\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
                     <input type=\"hidden\" name=\"item\" value=\"{}\">",
                    esc(ctx.csrf),
                    esc(&r.name)
                );
                let id = format!("value-{}", r.name);
                if r.secret {
                    let _ = write!(
                        b,
                        "<input type=\"password\" name=\"value\" id=\"{}\" autocomplete=\"new-password\" placeholder=\"{}\">",
                        esc(&id),
                        if r.value.is_empty() { "(not set)" } else { "(set; type to replace)" }
                    );
                } else if r.multiline {
                    let _ = write!(
                        b,
                        "<textarea name=\"value\" id=\"{}\" rows=\"4\">{}</textarea>",
                        esc(&id),
                        esc(&value)
                    );
                } else {
                    let _ = write!(
                        b,
                        "<input type=\"text\" name=\"value\" id=\"{}\" value=\"{}\">",
                        esc(&id),
                        esc(&value)
                    );
                }
                let _ = write!(
                    b,
                    " <button type=\"submit\" id=\"save-{}\">Save</button></form>",
                    esc(&r.name)
                );
            }
            if let Some(m) = err {
                let _ = write!(
                    b,
                    "<p class=\"error\" id=\"error-{}\">{}</p>",
                    esc(&r.name),
                    esc(m)
                );
            }
            b.push_str("</td></tr>");
        }
        b.push_str("</table>");
    }
    layout("Configuration", Some(ctx), &b)
}

fn action_form(ctx: &Ctx<'_>, what: &str, label: &str, confirm: bool) -> String {
    format!(
        "<form method=\"post\" action=\"/action\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <input type=\"hidden\" name=\"what\" value=\"{}\">{}\
         <p><button type=\"submit\" id=\"{}{}\">{}</button></p></form>",
        esc(ctx.csrf),
        esc(what),
        if confirm {
            "<input type=\"hidden\" name=\"confirm\" value=\"yes\">"
        } else {
            ""
        },
        if confirm { "confirm-" } else { "action-" },
        esc(what),
        esc(label)
    )
}

/// The Actions page, with the outcome of the last one.
pub fn actions(ctx: &Ctx<'_>, done: Option<&str>) -> String {
    let mut b = String::new();
    if let Some(d) = done {
        let _ = write!(b, "<p class=\"ok\" id=\"action-result\">{}</p>", esc(d));
    }
    b.push_str(&action_form(ctx, "inform", "Send Inform now", false));
    b.push_str(&action_form(ctx, "reboot", "Reboot", false));
    b.push_str(&action_form(ctx, "factory-reset", "Factory reset", false));
    b.push_str("<p class=\"muted\">Each action asks for confirmation first.</p>");
    layout("Actions", Some(ctx), &b)
}

/// The confirmation step of an action.
pub fn confirm(ctx: &Ctx<'_>, what: &str) -> String {
    let (q, label) = match what {
        "inform" => (
            "Open a session with the ACS now? Pending events (such as local changes) go with it.",
            "Yes, send Inform now",
        ),
        "reboot" => ("Reboot the phone now?", "Yes, reboot"),
        _ => (
            "Reset the phone to its factory settings? Every change made since is lost.",
            "Yes, factory reset",
        ),
    };
    let b = format!(
        "<p>{}</p>{}<p><a href=\"/actions\">No, back</a></p>",
        esc(q),
        action_form(ctx, what, label, true)
    );
    layout("Confirm", Some(ctx), &b)
}

/// One session trace file, summarised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionSummary {
    /// The file name (`session-<ms>-<id>.jsonl`).
    pub file: String,
    /// When it started (the first record's timestamp).
    pub started: String,
    /// The Inform's event codes.
    pub events: String,
    /// `ok`, or the failure reason.
    pub result: String,
    /// Messages sent and received.
    pub messages: usize,
}

/// Largest trace file read for a page.
const MAX_TRACE_FILE: u64 = 1024 * 1024;

/// Whether `name` is a session trace file's name (nothing else is ever opened).
pub fn is_session_file(name: &str) -> bool {
    name.strip_prefix("session-")
        .and_then(|r| r.strip_suffix(".jsonl"))
        .and_then(|r| r.split_once('-'))
        .is_some_and(|(ms, id)| {
            !ms.is_empty()
                && !id.is_empty()
                && ms.bytes().all(|b| b.is_ascii_digit())
                && id.bytes().all(|b| b.is_ascii_digit())
        })
}

fn records(dir: &Path, name: &str) -> Option<Vec<serde_json::Value>> {
    if !is_session_file(name) {
        return None;
    }
    let path = dir.join(name);
    if std::fs::metadata(&path).ok()?.len() > MAX_TRACE_FILE {
        return None;
    }
    let text = std::fs::read_to_string(path).ok()?;
    Some(
        text.lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect(),
    )
}

fn s<'a>(v: &'a serde_json::Value, k: &str) -> &'a str {
    v.get(k).and_then(|x| x.as_str()).unwrap_or("")
}

fn detail(v: &serde_json::Value) -> String {
    v.get("detail")
        .and_then(|d| d.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

fn summarise(file: &str, recs: &[serde_json::Value]) -> SessionSummary {
    let started = recs
        .first()
        .map(|r| s(r, "ts").to_string())
        .unwrap_or_default();
    let events = recs
        .iter()
        .find(|r| s(r, "type") == "message_sent" && s(r, "method") == "Inform")
        .map(detail)
        .unwrap_or_default();
    let result = match recs.iter().find(|r| s(r, "type") == "session_ended") {
        Some(r) if r.get("ok").and_then(|b| b.as_bool()) == Some(true) => "ok".to_string(),
        Some(r) => format!("failed: {}", s(r, "reason")),
        None => "in progress (or cut short)".to_string(),
    };
    let messages = recs
        .iter()
        .filter(|r| matches!(s(r, "type"), "message_sent" | "message_received"))
        .count();
    SessionSummary {
        file: file.to_string(),
        started,
        events,
        result,
        messages,
    }
}

/// The session trace files, newest first.
pub fn session_list(dir: &Path) -> Vec<SessionSummary> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|n| is_session_file(n))
                .collect()
        })
        .unwrap_or_default();
    // session-<ms>-<id>: newest first by time, then id.
    names.sort_by_key(|n| {
        let mut parts = n
            .trim_start_matches("session-")
            .trim_end_matches(".jsonl")
            .split('-')
            .map(|p| p.parse::<u128>().unwrap_or(0));
        std::cmp::Reverse((parts.next().unwrap_or(0), parts.next().unwrap_or(0)))
    });
    names
        .iter()
        .filter_map(|n| records(dir, n).map(|r| summarise(n, &r)))
        .collect()
}

/// The Sessions page.
pub fn sessions(ctx: &Ctx<'_>, list: &[SessionSummary]) -> String {
    let mut b = String::from(
        "<table id=\"sessions\"><tr><th>Started (UTC)</th><th>Events</th><th>Result</th><th>Messages</th></tr>",
    );
    for s in list {
        let _ = write!(
            b,
            "<tr><td><a href=\"/sessions/{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&s.file),
            esc(&s.started),
            esc(&s.events),
            esc(&s.result),
            s.messages
        );
    }
    b.push_str("</table>");
    if list.is_empty() {
        b.push_str("<p>No session yet.</p>");
    }
    layout("Sessions", Some(ctx), &b)
}

fn millis(ts: &str) -> Option<i128> {
    let t = time::OffsetDateTime::parse(ts, &time::format_description::well_known::Rfc3339).ok()?;
    Some(t.unix_timestamp_nanos() / 1_000_000)
}

/// The timeline of one session as SVG: the phone on the left, the ACS on the right, one
/// arrow per message with its method and details, time from the session's start.
pub fn timeline_svg(recs: &[serde_json::Value]) -> String {
    let t0 = recs.first().and_then(|r| millis(s(r, "ts"))).unwrap_or(0);
    let rows: Vec<&serde_json::Value> = recs
        .iter()
        .filter(|r| {
            matches!(
                s(r, "type"),
                "message_sent" | "message_received" | "session_ended" | "session_started"
            )
        })
        .collect();
    let (w, left, right, step) = (640, 130, 600, 34);
    let h = 40 + step * rows.len() + 10;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" role=\"img\" \
         aria-label=\"session timeline\" font-family=\"sans-serif\" font-size=\"12\">\
         <text x=\"{left}\" y=\"16\" text-anchor=\"middle\" font-weight=\"bold\">phone</text>\
         <text x=\"{right}\" y=\"16\" text-anchor=\"middle\" font-weight=\"bold\">ACS</text>\
         <line x1=\"{left}\" y1=\"22\" x2=\"{left}\" y2=\"{h}\" stroke=\"#888\"/>\
         <line x1=\"{right}\" y1=\"22\" x2=\"{right}\" y2=\"{h}\" stroke=\"#888\"/>"
    );
    let mut prev: Option<i128> = None;
    for (i, r) in rows.iter().enumerate() {
        let y = 40 + step * i;
        let at = millis(s(r, "ts")).map(|m| m - t0).unwrap_or(0);
        let gap = prev
            .map(|p| format!(" (+{} ms)", at - p))
            .unwrap_or_default();
        prev = Some(at);
        let _ = write!(
            svg,
            "<text x=\"4\" y=\"{}\" fill=\"#555\">{at} ms{}</text>",
            y + 4,
            esc(&gap)
        );
        let kind = s(r, "type");
        let d = detail(r);
        let fault = d.contains("Fault") || s(r, "method") == "Fault";
        let colour = if fault { "#b00" } else { "#234" };
        match kind {
            "message_sent" | "message_received" => {
                let (x1, x2) = if kind == "message_sent" {
                    (left, right)
                } else {
                    (right, left)
                };
                let head = if x2 > x1 { x2 - 8 } else { x2 + 8 };
                let status = r
                    .get("status")
                    .and_then(|v| v.as_u64())
                    .filter(|s| *s != 200)
                    .map(|s| format!(" [HTTP {s}]"))
                    .unwrap_or_default();
                let method = match s(r, "method") {
                    "" => "(empty)",
                    m => m,
                };
                let label = format!(
                    "{method}{status}{}",
                    if d.is_empty() {
                        String::new()
                    } else {
                        format!(": {d}")
                    }
                );
                let label: String = label.chars().take(70).collect();
                let _ = write!(
                    svg,
                    "<line x1=\"{x1}\" y1=\"{y}\" x2=\"{x2}\" y2=\"{y}\" stroke=\"{colour}\" stroke-width=\"1.5\"/>\
                     <polygon points=\"{x2},{y} {head},{} {head},{}\" fill=\"{colour}\"/>\
                     <text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"{colour}\">{}</text>",
                    y - 4,
                    y + 4,
                    (left + right) / 2,
                    y - 5,
                    esc(&label)
                );
            }
            _ => {
                let text = if kind == "session_started" {
                    "session starts".to_string()
                } else if r.get("ok").and_then(|b| b.as_bool()) == Some(true) {
                    "session ends: ok".to_string()
                } else {
                    format!("session ends: {}", s(r, "reason"))
                };
                let _ = write!(
                    svg,
                    "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-style=\"italic\" fill=\"#555\">{}</text>",
                    (left + right) / 2,
                    y + 4,
                    esc(&text)
                );
            }
        }
    }
    svg.push_str("</svg>");
    svg
}

/// One session's page: the timeline and the records.
pub fn session_detail(ctx: &Ctx<'_>, dir: &Path, name: &str) -> Option<String> {
    let recs = records(dir, name)?;
    let sum = summarise(name, &recs);
    let mut b = format!(
        "<p>Started {} · events {} · {} · {} messages</p>{}",
        esc(&sum.started),
        esc(&sum.events),
        esc(&sum.result),
        sum.messages,
        timeline_svg(&recs)
    );
    b.push_str("<h2>Records</h2><table>");
    for r in &recs {
        let _ = write!(
            b,
            "<tr><td class=\"muted\">{}</td><td>{}</td><td>{} {}</td></tr>",
            esc(s(r, "ts")),
            esc(s(r, "type")),
            esc(s(r, "method")),
            esc(&detail(r))
        );
    }
    b.push_str("</table><p><a href=\"/sessions\">All sessions</a></p>");
    Some(layout("Session", Some(ctx), &b))
}

/// The auto-provisioning status page: the settings (secrets masked) and the seed's "Auto
/// Provision Access Table" from `provisioning.jsonl`, newest first (at most 50 rows).
pub fn provisioning(
    ctx: &Ctx<'_>,
    settings: &[(String, String)],
    records: &[crate::provision::access_log::Record],
) -> String {
    let mut b = String::from("<h2>Settings</h2><table>");
    for (k, v) in settings {
        let _ = write!(b, "<tr><th>{}</th><td>{}</td></tr>", esc(k), esc(v));
    }
    b.push_str(
        "</table><p class=\"muted\">Edit them on the Configuration page; \
         <code>cpe-agent provision</code> runs a check now.</p><h2>Access table</h2>",
    );
    if records.is_empty() {
        b.push_str("<p>No provisioning attempt yet.</p>");
        return layout("Provisioning", Some(ctx), &b);
    }
    b.push_str(
        "<table class=\"log\"><tr><th>Time</th><th>Source</th><th>URL</th><th>Files</th>\
         <th>Result</th></tr>",
    );
    for r in records.iter().rev().take(50) {
        let files: Vec<String> = r
            .files
            .iter()
            .map(|f| {
                let version = if f.version.is_empty() {
                    String::new()
                } else {
                    format!(" v{}", f.version)
                };
                format!(
                    "{} {} ({} B{version}): {}",
                    f.kind, f.name, f.bytes, f.result
                )
            })
            .collect();
        let result = if r.fault.is_empty() {
            r.result.clone()
        } else {
            format!("{}: {}", r.result, r.fault)
        };
        let _ = write!(
            b,
            "<tr><td>{}</td><td>{} ({})</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&r.time),
            esc(&r.source),
            esc(&r.trigger),
            esc(&r.url),
            esc(&files.join("; ")),
            esc(&result)
        );
    }
    b.push_str("</table>");
    layout("Provisioning", Some(ctx), &b)
}

/// The TR-064 status page.
pub fn tr064(ctx: &Ctx<'_>, t: &crate::tr064::Tr064Config) -> String {
    let opt = |a: Option<std::net::SocketAddr>| a.map(|a| a.to_string()).unwrap_or("off".into());
    let b = format!(
        "<table><tr><th>HTTP</th><td>{}</td></tr><tr><th>HTTPS</th><td>{}</td></tr>\
         <tr><th>SSDP</th><td>{}</td></tr><tr><th>SSDP interfaces</th><td>{}</td></tr>\
         <tr><th>Transaction timeout</th><td>{} s</td></tr></table>\
         <p class=\"muted\">TR-064 uses the same admin-username and admin-password.</p>",
        esc(&opt(t.http_address)),
        esc(&opt(t.https_address)),
        if t.ssdp {
            esc(&t.ssdp_address.to_string())
        } else {
            "off".into()
        },
        esc(&t.ssdp_interfaces.join(", ")),
        t.transaction_timeout.as_secs()
    );
    layout("TR-064", Some(ctx), &b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_and_file_names() {
        assert_eq!(
            esc("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        assert!(is_session_file("session-1700000000000-3.jsonl"));
        for bad in [
            "session-1-.jsonl",
            "session--1.jsonl",
            "session-1-2.json",
            "../session-1-2.jsonl",
            "session-1-2.jsonl/..",
            "boot-1.jsonl",
        ] {
            assert!(!is_session_file(bad), "{bad}");
        }
    }

    #[test]
    fn timeline_escapes_and_draws_each_message() {
        let recs: Vec<serde_json::Value> = [
            r#"{"type":"session_started","session_id":1,"ts":"2026-01-01T10:00:00Z"}"#,
            r#"{"type":"message_sent","method":"Inform","detail":["0 BOOTSTRAP","<x>"],"ts":"2026-01-01T10:00:00.010Z"}"#,
            r#"{"type":"message_received","status":200,"method":"InformResponse","ts":"2026-01-01T10:00:00.020Z"}"#,
            r#"{"type":"session_ended","ok":true,"ts":"2026-01-01T10:00:00.030Z"}"#,
        ]
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
        let svg = timeline_svg(&recs);
        assert!(svg.contains("Inform: 0 BOOTSTRAP, &lt;x&gt;"), "{svg}");
        assert!(svg.contains("+10 ms"), "{svg}");
        assert_eq!(svg.matches("<polygon").count(), 2);
        assert!(!svg.contains("<x>"));
    }
}
