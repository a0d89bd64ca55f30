//! The web-based management against the real `cpe-agent` binary on 127.0.0.1 and the fake
//! ACS: with a real browser (Debian's headless chromium, driven by chromedriver and Selenium
//! from PyPI: `tests/web/browser.py`) and with plain HTTP requests for the refusals a browser
//! does not make (a form post without its CSRF token, the login rate limit).
//!
//! Peers: `chromium`, `chromedriver` and a python with `selenium` (`CPE_TEST_PYTHON`, else the
//! venv `.ci/run` makes in `target/py`); missing, the browser test shows as ignored, and under
//! `CI=true` it fails naming the peer. `CPE_WEB_SCREENSHOTS=DIR` keeps the screenshots (the
//! README's come from here: `CPE_WEB_SCREENSHOTS=docs`).

mod phone_common;
mod tr064_common;

use cwmp_testkit::acs::{AcsMessage, CwmpScript, FakeAcs};
use phone_common::{wait_sessions, Phone};
use std::net::SocketAddr;
use std::process::Command;
use tr064_common::{python, request, Response};

const PASSWORD: &str = "web-Secret-1";
const SIP: &str = "Device.Services.VoiceService.1.VoiceProfile.1.SIP.";

/// A phone with the web page on a free loopback port; the ACS sets passive notification on
/// RegisterExpires in the bootstrap session, so a local change of reg-ttl is reported in
/// the next session (4 VALUE CHANGE).
fn web_phone(acs: &FakeAcs) -> (Phone, SocketAddr) {
    let mut phone = Phone::new(
        acs.url(),
        "web-address = \"127.0.0.1:0\"",
        &format!("admin-password = \"{PASSWORD}\""),
    );
    phone.start();
    wait_sessions(acs, 1, &phone);
    let addr = phone.addr("web HTTP on ");
    (phone, addr)
}

fn acs() -> FakeAcs {
    FakeAcs::builder()
        .cwmp(CwmpScript::new().session([AcsMessage::notify(format!("{SIP}RegisterExpires"), 1)]))
        .start()
        .expect("acs")
}

fn cookie_of(r: &Response, name: &str) -> Option<String> {
    r.headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
        .find_map(|(_, v)| {
            let first = v.split(';').next()?;
            let (k, val) = first.split_once('=')?;
            (k == name).then(|| val.to_string())
        })
}

fn hidden_csrf(body: &str) -> String {
    let at = body.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
    body[at..at + 32].to_string()
}

/// Log in with plain HTTP; returns (session cookie, the session's CSRF token) or the refusal.
fn login(addr: SocketAddr, password: &str) -> Result<(String, String), Response> {
    let page = request(addr, "GET", "/login", &[], "");
    let pre = cookie_of(&page, "cpe_login").expect("pre-login cookie");
    let token = hidden_csrf(&page.body);
    let r = request(
        addr,
        "POST",
        "/login",
        &[
            ("Cookie", format!("cpe_login={pre}")),
            ("Content-Type", "application/x-www-form-urlencoded".into()),
        ],
        &format!("csrf={token}&username=admin&password={password}"),
    );
    let Some(session) = cookie_of(&r, "cpe_session") else {
        return Err(r);
    };
    let status = request(
        addr,
        "GET",
        "/",
        &[("Cookie", format!("cpe_session={session}"))],
        "",
    );
    assert_eq!(status.status, 200, "{}", status.body);
    Ok((session, hidden_csrf(&status.body)))
}

#[test]
fn refusals_without_session_csrf_or_the_right_password() {
    let acs = acs();
    let (phone, addr) = web_phone(&acs);
    // No session cookie: every page but the login page is refused.
    for path in ["/", "/config", "/actions", "/sessions"] {
        let r = request(addr, "GET", path, &[], "");
        assert_eq!(r.status, 303, "{path}");
        assert_eq!(r.header("location"), Some("/login"), "{path}");
        assert!(r.body.is_empty());
    }
    let r = request(addr, "POST", "/config", &[], "item=reg-ttl&value=900");
    assert_eq!(r.status, 403);
    // A forged session cookie is no better.
    let r = request(
        addr,
        "GET",
        "/config",
        &[("Cookie", "cpe_session=00".into())],
        "",
    );
    assert_eq!(r.status, 303);
    // The session cookie's attributes.
    let page = request(addr, "GET", "/login", &[], "");
    let set = page.header("set-cookie").expect("cookie");
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );

    let (session, csrf) = login(addr, PASSWORD).expect("login");
    let with = |extra: &str| {
        request(
            addr,
            "POST",
            "/config",
            &[("Cookie", format!("cpe_session={session}"))],
            &format!("item=reg-ttl&value=900{extra}"),
        )
    };
    // A form post without the CSRF token, or with another one, is refused and changes nothing.
    for extra in ["", "&csrf=0123456789abcdef0123456789abcdef"] {
        let r = with(extra);
        assert_eq!(r.status, 403, "{}", r.body);
        assert!(r.body.contains("security token"), "{}", r.body);
    }
    assert_eq!(phone.admin_ok(&["get", "reg-ttl"]), "3600\n");
    // With it, the change is made (a redirect back to the page).
    let r = with(&format!("&csrf={csrf}"));
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(phone.admin_ok(&["get", "reg-ttl"]), "900\n");
    // Secrets are write-only: never in a page.
    let config = request(
        addr,
        "GET",
        "/config",
        &[("Cookie", format!("cpe_session={session}"))],
        "",
    );
    assert!(!config.body.contains(PASSWORD));
    // Where each value came from: the page's save is a local change; an untouched item is the
    // factory value.
    let origin_of = |item: &str| {
        let row = format!("<tr id=\"{item}\"><th>{item}<br><span class=\"muted\">");
        let at = config.body.find(&row).map(|i| i + row.len())?;
        config.body[at..].split('<').next().map(str::to_owned)
    };
    assert_eq!(origin_of("reg-ttl").as_deref(), Some("local"));
    assert_eq!(origin_of("sip-user-id").as_deref(), Some("factory"));
    // The provisioning status page: settings (secrets masked) and the access table.
    let prov = request(
        addr,
        "GET",
        "/provisioning",
        &[("Cookie", format!("cpe_session={session}"))],
        "",
    );
    assert_eq!(prov.status, 200, "{}", prov.body);
    assert!(prov.body.contains("auto-provision-server"), "{}", prov.body);
    assert!(prov.body.contains("Access table"), "{}", prov.body);
    // The HTML is escaped: a value with markup comes back as text.
    phone.admin_ok(&["set", "sip-user-id", "<b>x</b>"]);
    let config = request(
        addr,
        "GET",
        "/config",
        &[("Cookie", format!("cpe_session={session}"))],
        "",
    );
    assert!(config.body.contains("&lt;b&gt;x&lt;/b&gt;") && !config.body.contains("<b>x</b>"));

    // A wrong password is refused; after five failures even the right one is, for a while.
    for _ in 0..5 {
        let r = login(addr, "wrong").expect_err("refused");
        assert_eq!(r.status, 403);
        assert!(r.body.contains("Wrong user name or password"), "{}", r.body);
    }
    let r = login(addr, PASSWORD).expect_err("locked out");
    assert_eq!(r.status, 429);
    assert!(r.body.contains("Too many failed logins"), "{}", r.body);
}

#[test]
#[cfg_attr(
    peer_missing_chromium,
    ignore = "chromium not installed (apt-get install chromium)"
)]
#[cfg_attr(
    peer_missing_chromedriver,
    ignore = "chromedriver not installed (apt-get install chromium-driver)"
)]
#[cfg_attr(
    peer_missing_web_python,
    ignore = "python with selenium not installed (CPE_TEST_PYTHON)"
)]
fn a_browser_logs_in_changes_reg_ttl_and_sends_an_inform() {
    let acs = acs();
    let (phone, addr) = web_phone(&acs);
    let shots = tempfile::tempdir().expect("tempdir");
    let dir = std::env::var_os("CPE_WEB_SCREENSHOTS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| shots.path().to_path_buf());
    let before = acs.sessions_ended();
    let out = Command::new(python())
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/web/browser.py"))
        .arg(format!("http://{addr}"))
        .arg(PASSWORD)
        .arg(&dir)
        .arg(test_peers::program("chromium"))
        .arg(test_peers::program("chromedriver"))
        .env_remove("REQUESTS_CA_BUNDLE")
        .env_remove("CURL_CA_BUNDLE")
        .output()
        .expect("run python");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "browser.py failed: {}\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr),
        phone.log()
    );
    let seen: serde_json::Value = serde_json::from_str(stdout.trim()).expect("JSON");
    assert!(
        seen["refused"].as_str().unwrap_or("").contains("9007"),
        "{seen}"
    );
    assert_eq!(seen["saved"], "1200");
    assert!(
        seen["status"]
            .as_str()
            .unwrap_or("")
            .contains("OpenScape Desk Phone CP600"),
        "{seen}"
    );
    // Readable on a phone-sized screen: nothing wider than the window.
    assert!(
        seen["narrow_scroll_width"].as_u64().unwrap_or(999) <= 390,
        "{seen}"
    );
    // The fake ACS got the session the button opened, with the local change in it.
    wait_sessions(&acs, before + 1, &phone);
    let s = acs
        .sessions()
        .into_iter()
        .skip(before)
        .find(|s| {
            s.inform
                .event
                .iter()
                .any(|e| e.event_code == "4 VALUE CHANGE")
        })
        .unwrap_or_else(|| panic!("no 4 VALUE CHANGE: {:?}", acs.sessions()));
    let p = s
        .inform
        .parameter_list
        .iter()
        .find(|p| p.name == format!("{SIP}RegisterExpires"))
        .expect("the changed parameter in the Inform");
    assert_eq!(p.value, "1200");
    for page in [
        "login",
        "status",
        "config",
        "config-error",
        "actions",
        "sessions",
        "session",
    ] {
        assert!(dir.join(format!("web-{page}.png")).exists(), "{page}");
    }
}
