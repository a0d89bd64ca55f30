//! The handler on a real store (no sockets): actions, faults, authentication, transactions.

use super::*;
use cwmp_connreq::{authorization_header, parse_challenge};
use std::sync::atomic::AtomicUsize;

struct LocalPhone {
    store: Mutex<OcmsStore>,
    reboots: AtomicUsize,
    resets: AtomicUsize,
}

impl PhoneAccess for LocalPhone {
    fn run(&self, job: StoreJob) -> bool {
        job(&mut lock(&self.store));
        true
    }
    fn reboot(&self) -> Result<(), String> {
        self.reboots.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
    fn factory_reset(&self) -> Result<(), String> {
        self.resets.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    phone: Arc<LocalPhone>,
    model: Arc<DeskPhoneModel>,
    core: Tr064,
}

const ME: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 10));
const OTHER: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 11));

fn fixture(password: &str) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let model = Arc::new(DeskPhoneModel::builtin());
    let (mut store, _) = deskphone_datamodel::open_phone(dir.path(), &model, None).unwrap();
    if !password.is_empty() {
        deskphone_datamodel::apply_items(
            &mut store,
            &model,
            &[("admin-password".into(), password.into())],
        )
        .unwrap();
    }
    let phone = Arc::new(LocalPhone {
        store: Mutex::new(store),
        reboots: AtomicUsize::new(0),
        resets: AtomicUsize::new(0),
    });
    let core = Tr064::new(model.clone(), phone.clone(), Duration::from_secs(45));
    core.set_security_port(49443);
    Fixture {
        _dir: dir,
        phone,
        model,
        core,
    }
}

fn envelope(service: &str, action: &str, args: &[(&str, &str)], header: &str) -> String {
    let mut a = String::new();
    for (k, v) in args {
        a.push_str(&format!("<{k}>{}</{k}>", soap::escape(v)));
    }
    format!(
        "<?xml version=\"1.0\"?><s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\">\
         {header}<s:Body><u:{action} xmlns:u=\"urn:dslforum-org:service:{service}:1\">{a}</u:{action}>\
         </s:Body></s:Envelope>"
    )
}

fn control(service: &str) -> &'static str {
    services::SERVICES
        .iter()
        .find(|s| s.name == service)
        .unwrap()
        .control_url
}

impl Fixture {
    fn item(&self, name: &str) -> String {
        let s = lock(&self.phone.store);
        self.model.item_value(s.backend(), name).unwrap()
    }

    fn raw(
        &self,
        now: Instant,
        peer: IpAddr,
        service: &str,
        body: &str,
        auth: Option<&str>,
    ) -> Reply {
        self.core.handle(
            now,
            peer,
            &Request {
                method: "POST",
                target: control(service),
                authorization: auth,
                soap_action: None,
                body: body.as_bytes(),
                tls: false,
            },
        )
    }

    /// A call with HTTP Digest (challenge, then the answer), as `requests` does it.
    #[allow(clippy::too_many_arguments)]
    fn call_at(
        &self,
        now: Instant,
        peer: IpAddr,
        service: &str,
        action: &str,
        args: &[(&str, &str)],
        password: &str,
        header: &str,
    ) -> Reply {
        let body = envelope(service, action, args, header);
        let first = self.raw(now, peer, service, &body, None);
        if first.status != 401 {
            return first;
        }
        let ch = parse_challenge(first.www_authenticate.as_deref().unwrap()).unwrap();
        let auth = authorization_header(
            &ch,
            "admin",
            password,
            "POST",
            control(service),
            "0a1b2c3d",
            1,
        );
        self.raw(now, peer, service, &body, Some(&auth))
    }

    fn call(&self, service: &str, action: &str, args: &[(&str, &str)]) -> Reply {
        self.call_at(Instant::now(), ME, service, action, args, "secret", "")
    }
}

fn text(r: &Reply) -> String {
    String::from_utf8(r.body.clone()).unwrap()
}

fn fault_code(r: &Reply) -> Option<String> {
    let t = text(r);
    let s = t.find("<errorCode>")? + "<errorCode>".len();
    let e = t[s..].find('<')?;
    Some(t[s..s + e].to_owned())
}

#[test]
fn descriptions_list_exactly_the_services_and_actions() {
    let f = fixture("secret");
    let get = |p: &str| {
        f.core.handle(
            Instant::now(),
            ME,
            &Request {
                method: "GET",
                target: p,
                authorization: None,
                soap_action: None,
                body: b"",
                tls: false,
            },
        )
    };
    let d = text(&get("/tr64desc.xml"));
    assert!(d.contains("<root xmlns=\"urn:dslforum-org:device-1-0\">"));
    assert!(d.contains("<deviceType>urn:dslforum-org:device:InternetGatewayDevice:1</deviceType>"));
    assert!(d.contains("<UDN>uuid:75f5e2d0-5a1d-4e0b-8d3c-001ae8a1b2c3</UDN>"));
    for s in services::SERVICES {
        assert!(d.contains(&s.service_type()));
        let scpd = text(&get(s.scpd_url));
        assert_eq!(scpd.matches("<action>").count(), s.actions.len());
    }
    assert_eq!(get("/igddesc.xml").status, 404);
    assert_eq!(get("/igddesc.xml").content_type, "text/html");
}

#[test]
fn get_info_and_no_password_leaks() {
    let f = fixture("secret");
    let r = f.call("DeviceInfo", "GetInfo", &[]);
    assert_eq!(r.status, 200, "{}", text(&r));
    assert!(text(&r).contains("<NewSerialNumber>001AE8A1B2C3</NewSerialNumber>"));
    assert!(text(&r).contains("<NewManufacturerName>Unify</NewManufacturerName>"));
    // The security port needs no authentication.
    let r = f.raw(
        Instant::now(),
        OTHER,
        "DeviceInfo",
        &envelope("DeviceInfo", "GetSecurityPort", &[], ""),
        None,
    );
    assert!(text(&r).contains("<NewSecurityPort>49443</NewSecurityPort>"));
    // Write a password, read everything back: no password anywhere.
    let r = f.call(
        "ManagementServer",
        "SetManagementServerPassword",
        &[("NewPassword", "acs-pw-123")],
    );
    assert_eq!(r.status, 200, "{}", text(&r));
    assert_eq!(f.item("acs-password"), "acs-pw-123");
    f.call(
        "X_VoIP",
        "X_AVM-DE_AddVoIPAccount",
        &[
            ("NewVoIPAccountIndex", "0"),
            ("NewVoIPRegistrar", "sip.example"),
            ("NewVoIPNumber", "+4989123"),
            ("NewVoIPUsername", "u1"),
            ("NewVoIPPassword", "sip-pw-456"),
            ("NewVoIPOutboundProxy", ""),
            ("NewVoIPSTUNServer", ""),
        ],
    );
    assert_eq!(f.item("registrar-addr"), "sip.example");
    for (svc, action, args) in [
        ("ManagementServer", "GetInfo", vec![]),
        (
            "X_VoIP",
            "X_AVM-DE_GetVoIPAccount",
            vec![("NewVoIPAccountIndex", "0")],
        ),
        ("LANConfigSecurity", "GetInfo", vec![]),
        ("DeviceInfo", "GetInfo", vec![]),
    ] {
        let r = f.call(svc, action, &args);
        assert_eq!(r.status, 200, "{svc}:{action} {}", text(&r));
        let t = text(&r);
        for secret in ["acs-pw-123", "sip-pw-456", "secret"] {
            assert!(!t.contains(secret), "{svc}:{action} returns {secret}");
        }
    }
    let r = f.call("X_VoIP", "X_AVM-DE_GetNumbers", &[]);
    assert!(text(&r).contains("+4989123"));
    let r = f.call(
        "X_VoIP",
        "X_AVM-DE_GetVoIPAccount",
        &[("NewVoIPAccountIndex", "1")],
    );
    assert_eq!(fault_code(&r).as_deref(), Some("713"));
}

#[test]
fn error_codes() {
    let f = fixture("secret");
    // Unknown action, wrong service namespace: 401.
    assert_eq!(
        fault_code(&f.call("DeviceInfo", "Nope", &[])).as_deref(),
        Some("401")
    );
    let body = envelope("Time", "GetInfo", &[], "");
    let r = f.raw(Instant::now(), ME, "DeviceInfo", &body, None);
    assert_eq!(fault_code(&r).as_deref(), Some("401"));
    // Missing, unexpected or repeated arguments: 402.
    assert_eq!(
        fault_code(&f.call("ManagementServer", "SetManagementServerURL", &[])).as_deref(),
        Some("402")
    );
    assert_eq!(
        fault_code(&f.call("DeviceInfo", "GetInfo", &[("NewX", "1")])).as_deref(),
        Some("402")
    );
    // Values: not of the type 600, out of range 601; nothing changed.
    let r = f.call(
        "ManagementServer",
        "SetPeriodicInform",
        &[
            ("NewPeriodicInformEnable", "1"),
            ("NewPeriodicInformInterval", "abc"),
            ("NewPeriodicInformTime", "0001-01-01T00:00:00Z"),
        ],
    );
    assert_eq!(fault_code(&r).as_deref(), Some("600"));
    let r = f.call(
        "ManagementServer",
        "SetPeriodicInform",
        &[
            ("NewPeriodicInformEnable", "1"),
            ("NewPeriodicInformInterval", "100000"),
            ("NewPeriodicInformTime", "0001-01-01T00:00:00Z"),
        ],
    );
    assert_eq!(fault_code(&r).as_deref(), Some("601"));
    assert_eq!(f.item("acs-periodic-inform-interval"), "3600");
    let r = f.call(
        "ManagementServer",
        "SetPeriodicInform",
        &[
            ("NewPeriodicInformEnable", "0"),
            ("NewPeriodicInformInterval", "600"),
            ("NewPeriodicInformTime", "2026-01-01T00:00:00Z"),
        ],
    );
    assert_eq!(r.status, 200, "{}", text(&r));
    assert_eq!(f.item("acs-periodic-inform-interval"), "600");
    assert_eq!(f.item("acs-periodic-inform-enabled"), "false");
    // Garbage body: a fault, no panic.
    let r = f.raw(Instant::now(), ME, "DeviceInfo", "<<<", None);
    assert_eq!(r.status, 500);
}

#[test]
fn without_a_password_only_the_open_actions_work() {
    let f = fixture("");
    let r = f.raw(
        Instant::now(),
        ME,
        "DeviceInfo",
        &envelope("DeviceInfo", "GetSecurityPort", &[], ""),
        None,
    );
    assert_eq!(r.status, 200);
    let r = f.raw(
        Instant::now(),
        ME,
        "LANConfigSecurity",
        &envelope("LANConfigSecurity", "X_AVM-DE_GetAnonymousLogin", &[], ""),
        None,
    );
    assert!(text(&r).contains("<NewX_AVM-DE_AnonymousLoginEnabled>0<"));
    for (svc, action, args) in [
        ("DeviceInfo", "GetInfo", vec![]),
        (
            "LANConfigSecurity",
            "SetConfigPassword",
            vec![("NewPassword", "x")],
        ),
        ("DeviceConfig", "Reboot", vec![]),
    ] {
        let r = f.call_at(Instant::now(), ME, svc, action, &args, "", "");
        assert_eq!(fault_code(&r).as_deref(), Some("606"), "{svc}:{action}");
    }
    assert_eq!(f.item("admin-password"), "");
    assert_eq!(f.phone.reboots.load(Ordering::SeqCst), 0);
}

#[test]
fn wrong_password_401_then_503() {
    let f = fixture("secret");
    let t0 = Instant::now();
    let r = f.call_at(t0, OTHER, "DeviceInfo", "GetInfo", &[], "wrong", "");
    assert_eq!(r.status, 401);
    assert_eq!(r.content_type, "text/html");
    let mut saw_503 = false;
    for _ in 0..auth::REFUSED_BURST {
        let r = f.call_at(t0, OTHER, "DeviceInfo", "GetInfo", &[], "wrong", "");
        if r.status == 503 {
            saw_503 = true;
            break;
        }
    }
    assert!(saw_503);
    // Another client is not affected.
    let r = f.call_at(t0, ME, "DeviceInfo", "GetInfo", &[], "secret", "");
    assert_eq!(r.status, 200);
}

#[test]
fn content_level_authentication() {
    let f = fixture("gurkensalat");
    let t0 = Instant::now();
    let init = format!(
        "<s:Header><h:InitChallenge xmlns:h=\"{}\" s:mustUnderstand=\"1\"><UserID>admin</UserID>\
         </h:InitChallenge></s:Header>",
        soap::AUTH_NS
    );
    let r = f.raw(
        t0,
        ME,
        "DeviceInfo",
        &envelope("DeviceInfo", "GetInfo", &[], &init),
        None,
    );
    let t = text(&r);
    assert!(t.contains("<Status>Unauthenticated</Status>"), "{t}");
    assert_eq!(fault_code(&r).as_deref(), Some("503"));
    let nonce = t
        .split("<Nonce>")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_owned();
    let client_auth = |nonce: &str, pw: &str| {
        format!(
            "<s:Header><h:ClientAuth xmlns:h=\"{}\" s:mustUnderstand=\"1\"><Nonce>{nonce}</Nonce>\
             <Auth>{}</Auth><UserID>admin</UserID><Realm>{}</Realm></h:ClientAuth></s:Header>",
            soap::AUTH_NS,
            auth::content_auth_response("admin", auth::CONTENT_REALM, pw, nonce),
            auth::CONTENT_REALM
        )
    };
    let body = envelope(
        "DeviceInfo",
        "GetInfo",
        &[],
        &client_auth(&nonce, "gurkensalat"),
    );
    let r = f.raw(t0, ME, "DeviceInfo", &body, None);
    let t = text(&r);
    assert_eq!(r.status, 200, "{t}");
    assert!(t.contains("<Status>Authenticated</Status>"));
    let next = t
        .split("<Nonce>")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_owned();
    assert_ne!(next, nonce);
    // The same nonce again: refused (single use).
    let r = f.raw(t0, ME, "DeviceInfo", &body, None);
    assert_eq!(fault_code(&r).as_deref(), Some("503"));
    // Wrong password with a fresh nonce: refused.
    let body = envelope("DeviceInfo", "GetInfo", &[], &client_auth(&next, "wrong"));
    let r = f.raw(t0, ME, "DeviceInfo", &body, None);
    assert_eq!(fault_code(&r).as_deref(), Some("503"));
}

#[test]
fn transaction_lock_all_or_nothing_and_timeout() {
    let f = fixture("secret");
    let t0 = Instant::now();
    let call = |t: Instant, peer: IpAddr, svc: &str, action: &str, args: &[(&str, &str)]| {
        f.call_at(t, peer, svc, action, args, "secret", "")
    };
    let r = call(t0, ME, "DeviceConfig", "X_GenerateUUID", &[]);
    let t = text(&r);
    let uuid = t
        .split("<NewUUID>")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_owned();
    assert!(normalize_uuid(&uuid).is_some(), "{uuid}");
    let r = call(
        t0,
        ME,
        "DeviceConfig",
        "ConfigurationStarted",
        &[("NewSessionID", uuid.as_str())],
    );
    assert_eq!(r.status, 200, "{}", text(&r));
    // The holder's writes are kept; another client's are refused; reads still work.
    let r = call(
        t0,
        ME,
        "Time",
        "SetNTPServers",
        &[("NewNTPServer1", "ntp1"), ("NewNTPServer2", "")],
    );
    assert_eq!(r.status, 200);
    let r = call(
        t0,
        ME,
        "ManagementServer",
        "SetManagementServerUsername",
        &[("NewUsername", "cpe1")],
    );
    assert_eq!(r.status, 200);
    assert_eq!(f.item("ntp-server-1"), "");
    let r = call(
        t0,
        OTHER,
        "Time",
        "SetNTPServers",
        &[("NewNTPServer1", "x"), ("NewNTPServer2", "")],
    );
    assert_eq!(fault_code(&r).as_deref(), Some("501"));
    let other_id = random_uuid();
    let r = call(
        t0,
        OTHER,
        "DeviceConfig",
        "ConfigurationStarted",
        &[("NewSessionID", other_id.as_str())],
    );
    assert_eq!(fault_code(&r).as_deref(), Some("501"));
    assert_eq!(call(t0, OTHER, "Time", "GetInfo", &[]).status, 200);
    // A bad value inside the transaction is refused at once.
    let r = call(
        t0,
        ME,
        "ManagementServer",
        "SetPeriodicInform",
        &[
            ("NewPeriodicInformEnable", "1"),
            ("NewPeriodicInformInterval", "100000"),
            ("NewPeriodicInformTime", "0001-01-01T00:00:00Z"),
        ],
    );
    assert_eq!(fault_code(&r).as_deref(), Some("601"));
    // Finished: everything at once.
    let r = call(t0, ME, "DeviceConfig", "ConfigurationFinished", &[]);
    assert!(
        text(&r).contains("<NewStatus>ChangesApplied</NewStatus>"),
        "{}",
        text(&r)
    );
    assert_eq!(f.item("ntp-server-1"), "ntp1");
    assert_eq!(f.item("acs-username"), "cpe1");

    // Abandoned: rolled back after the timeout; the lock is free again.
    let r = call(
        t0,
        ME,
        "DeviceConfig",
        "ConfigurationStarted",
        &[("NewSessionID", uuid.as_str())],
    );
    assert_eq!(r.status, 200);
    call(
        t0,
        ME,
        "Time",
        "SetNTPServers",
        &[("NewNTPServer1", "ntp9"), ("NewNTPServer2", "")],
    );
    let later = t0 + Duration::from_secs(45);
    let r = call(
        later,
        OTHER,
        "Time",
        "SetNTPServers",
        &[("NewNTPServer1", "ntp2"), ("NewNTPServer2", "")],
    );
    assert_eq!(r.status, 200, "{}", text(&r));
    assert_eq!(f.item("ntp-server-1"), "ntp2");
    let r = call(later, ME, "DeviceConfig", "ConfigurationFinished", &[]);
    assert_eq!(fault_code(&r).as_deref(), Some("501"));
    assert_eq!(f.item("ntp-server-1"), "ntp2");

    // Reboot inside a transaction: RebootRequired, then the reboot.
    call(
        later,
        ME,
        "DeviceConfig",
        "ConfigurationStarted",
        &[("NewSessionID", uuid.as_str())],
    );
    call(later, ME, "DeviceConfig", "Reboot", &[]);
    assert_eq!(f.phone.reboots.load(Ordering::SeqCst), 0);
    let r = call(later, ME, "DeviceConfig", "ConfigurationFinished", &[]);
    assert!(text(&r).contains("RebootRequired"));
    assert_eq!(f.phone.reboots.load(Ordering::SeqCst), 1);
    // The session ID header identifies the holder from another address too.
    let header = format!("<s:Header><SessionID>{uuid}</SessionID></s:Header>");
    call(
        later,
        ME,
        "DeviceConfig",
        "ConfigurationStarted",
        &[("NewSessionID", uuid.as_str())],
    );
    let r = f.call_at(
        later,
        OTHER,
        "Time",
        "SetNTPServers",
        &[("NewNTPServer1", "ntp3"), ("NewNTPServer2", "")],
        "secret",
        &header,
    );
    assert_eq!(r.status, 200, "{}", text(&r));
    let r = f.call_at(
        later,
        OTHER,
        "DeviceConfig",
        "ConfigurationFinished",
        &[],
        "secret",
        &header,
    );
    assert!(text(&r).contains("ChangesApplied"));
    assert_eq!(f.item("ntp-server-1"), "ntp3");
}

#[test]
fn set_config_password_and_reboot() {
    let f = fixture("secret");
    let r = f.call(
        "LANConfigSecurity",
        "SetConfigPassword",
        &[("NewPassword", "new-pw")],
    );
    assert_eq!(r.status, 200);
    assert_eq!(f.item("admin-password"), "new-pw");
    let r = f.call_at(
        Instant::now(),
        ME,
        "DeviceConfig",
        "Reboot",
        &[],
        "new-pw",
        "",
    );
    assert_eq!(r.status, 200);
    assert_eq!(f.phone.reboots.load(Ordering::SeqCst), 1);
    let r = f.call_at(
        Instant::now(),
        ME,
        "DeviceConfig",
        "FactoryReset",
        &[],
        "new-pw",
        "",
    );
    assert_eq!(r.status, 200);
    assert_eq!(f.phone.resets.load(Ordering::SeqCst), 1);
}
