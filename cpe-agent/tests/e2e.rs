//! End-to-end: the real `cpe-agent` binary against the fake ACS on loopback.
//!
//! Each test writes a configuration file into a temporary directory, starts the binary,
//! scripts the ACS's sessions and checks what reached the ACS (events, answers) and what the
//! phone kept. Periodic informs are off so that every session is one the test caused.

use cwmp_model::XsdType;
use cwmp_soap::{
    Body, GetParameterValues, ParameterValueStruct, Reboot, ScheduleInform, SetParameterValues,
};
use cwmp_testkit::acs::{AcsMessage, CwmpScript, FakeAcs, Reply, SessionLog};
use deskphone_datamodel::DeskPhoneModel;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_cpe-agent");
const WAIT: Duration = Duration::from_secs(20);
const SIP: &str = "Device.Services.VoiceService.1.VoiceProfile.1.SIP.";

/// One simulated phone: its directory, configuration and (while running) process.
struct Phone {
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl Phone {
    /// A phone whose configuration has these `[items]` lines (plus test defaults).
    fn new(acs_url: &str, items: &str) -> Phone {
        Phone::with_top(acs_url, "", items)
    }

    /// … with extra top-level keys.
    fn with_top(acs_url: &str, top: &str, items: &str) -> Phone {
        let dir = tempfile::tempdir().expect("tempdir");
        let cfg = format!(
            "state-dir = \"state\"\n{top}\n[items]\nacs-server-address = \"{acs_url}\"\n\
             acs-periodic-inform-enabled = false\nacs-retry-min-wait-interval = 1\n\
             acs-retry-interval-multiplier = 1000\n{items}\n"
        );
        std::fs::write(dir.path().join("cpe-agent.toml"), cfg).expect("config");
        Phone { dir, child: None }
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("cpe-agent.toml")
    }

    fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    fn start(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("agent.log"))
            .expect("log");
        let child = Command::new(BIN)
            .arg("--config")
            .arg(self.config())
            .env("RUST_LOG", "debug")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn cpe-agent");
        self.child = Some(child);
        // Running = the control socket is there.
        let deadline = Instant::now() + WAIT;
        while !self.state().join("control.sock").exists() {
            assert!(
                Instant::now() < deadline,
                "agent did not start: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("agent.log")).unwrap_or_default()
    }

    /// SIGTERM, then wait for the exit (at most a few seconds).
    fn terminate(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("running");
        let ok = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("kill");
        assert!(ok.success());
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Some(st) = child.try_wait().expect("wait") {
                return st;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("no exit within 5 s of SIGTERM: {}", self.log());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn run(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(BIN);
        cmd.args(&args[..1])
            .arg("--config")
            .arg(self.config())
            .args(&args[1..]);
        cmd.output().expect("run cpe-agent")
    }

    fn admin(&self, args: &[&str]) -> Output {
        let mut all = vec!["admin"];
        all.extend_from_slice(args);
        self.run(&all)
    }

    fn admin_ok(&self, args: &[&str]) -> String {
        let out = self.admin(args);
        assert!(
            out.status.success(),
            "admin {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8")
    }
}

impl Drop for Phone {
    fn drop(&mut self) {
        self.kill9();
    }
}

fn codes(s: &SessionLog) -> Vec<String> {
    s.event_codes()
}

fn command_key(s: &SessionLog, code: &str) -> Option<String> {
    s.inform
        .event
        .iter()
        .find(|e| e.event_code == code)
        .map(|e| e.command_key.clone())
}

fn wait_sessions(acs: &FakeAcs, n: usize, phone: &Phone) {
    assert!(
        acs.wait_for_sessions(n, WAIT),
        "expected {n} sessions, got {}: {:?}\n{}",
        acs.sessions_ended(),
        acs.sessions().iter().map(codes).collect::<Vec<_>>(),
        phone.log()
    );
}

fn gpv(names: &[&str]) -> AcsMessage {
    AcsMessage::Request(Body::GetParameterValues(GetParameterValues {
        parameter_names: names.iter().map(|n| n.to_string()).collect(),
    }))
}

fn spv(values: &[(&str, &str, XsdType)], key: &str) -> AcsMessage {
    AcsMessage::Request(Body::SetParameterValues(SetParameterValues {
        parameter_list: values
            .iter()
            .map(|(n, v, t)| ParameterValueStruct::new(*n, *v, *t))
            .collect(),
        parameter_key: key.into(),
    }))
}

/// The values of the GetParameterValuesResponse at `index` of the session's answers.
fn values(s: &SessionLog, index: usize) -> Vec<(String, String)> {
    match s
        .received
        .get(index)
        .and_then(|e| e.as_ref())
        .map(|e| &e.body)
    {
        Some(Body::GetParameterValuesResponse(r)) => r
            .parameter_list
            .iter()
            .map(|p| (p.name.clone(), p.value.clone()))
            .collect(),
        other => panic!("expected a GetParameterValuesResponse, got {other:?}"),
    }
}

fn value(list: &[(String, String)], name: &str) -> String {
    list.iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("{name} missing"))
        .1
        .clone()
}

#[test]
fn bootstrap_session_and_the_whole_tree_with_the_seed_names() {
    let acs = FakeAcs::builder()
        .cwmp(
            CwmpScript::new()
                .session([
                    gpv(&[""]),
                    AcsMessage::Request(Body::ScheduleInform(ScheduleInform {
                        delay_seconds: 1,
                        command_key: "after-boot".into(),
                    })),
                ])
                .session([gpv(&["Device.DeviceInfo.DeviceStatus"])]),
        )
        .start()
        .expect("acs");
    let mut phone = Phone::new(acs.url(), "mac-address = \"00:1A:E8:01:02:03\"");
    phone.start();
    wait_sessions(&acs, 2, &phone);
    let s = &acs.sessions()[0];
    let c = codes(s);
    assert!(
        c.contains(&"0 BOOTSTRAP".into()) && c.contains(&"1 BOOT".into()),
        "{c:?}"
    );
    assert_eq!(s.inform.device_id.serial_number, "001AE8010203");
    assert_eq!(
        s.inform.device_id.product_class,
        "OpenScape Desk Phone CP600"
    );
    assert_eq!(s.inform.device_id.oui, "001AE8");
    let tree = values(s, 1);
    let model = DeskPhoneModel::builtin();
    let expected: Vec<&str> = model
        .schema()
        .params()
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    let got: Vec<&str> = tree.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(got, expected, "the whole tree, in data-model order");
    assert_eq!(value(&tree, "Device.DeviceInfo.Manufacturer"), "Unify");
    assert_eq!(
        value(&tree, "Device.DeviceInfo.ModelName"),
        "OpenScape Desk Phone CP600"
    );
    assert_eq!(value(&tree, "Device.ManagementServer.URL"), acs.url());
    assert_eq!(value(&tree, "Device.LAN.IPAddress"), "127.0.0.1");
    assert_eq!(value(&tree, "Device.LAN.SubnetMask"), "255.0.0.0");
    // A booted phone that talks to its ACS is up, also in its bootstrap session.
    assert_eq!(value(&tree, "Device.DeviceInfo.DeviceStatus"), "Up");
    let later = &acs.sessions()[1];
    assert!(
        codes(later).contains(&"3 SCHEDULED".into()),
        "{:?}",
        codes(later)
    );
    assert_eq!(
        value(&values(later, 1), "Device.DeviceInfo.DeviceStatus"),
        "Up"
    );
    assert!(
        value(&tree, "Device.DeviceInfo.UpTime")
            .parse::<u32>()
            .unwrap()
            < 30
    );
    assert_eq!(value(&tree, &format!("{SIP}X_UNIFY_Transport")), "0");
    // The trace: JSON lines naming the messages.
    let trace_dir = phone.state().join("trace");
    let text: String = std::fs::read_dir(&trace_dir)
        .expect("trace dir")
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    assert!(text.contains("\"method\":\"Inform\""), "{text}");
    assert!(text.contains("GetParameterValuesResponse"), "{text}");
    for line in text.lines() {
        serde_json::from_str::<serde_json::Value>(line).expect("JSON line");
    }
    assert!(phone.terminate().success());
}

#[test]
fn set_values_survive_a_restart_and_sigterm_exits_cleanly() {
    let acs = FakeAcs::builder()
        .cwmp(
            CwmpScript::new()
                .session([spv(
                    &[(
                        &format!("{SIP}RegisterExpires"),
                        "600",
                        XsdType::UnsignedInt,
                    )],
                    "key-1",
                )])
                .session([gpv(&[
                    &format!("{SIP}RegisterExpires"),
                    "Device.ManagementServer.ParameterKey",
                ])]),
        )
        .start()
        .expect("acs");
    let mut phone = Phone::new(acs.url(), "");
    phone.start();
    wait_sessions(&acs, 1, &phone);
    let started = Instant::now();
    let st = phone.terminate();
    assert!(st.success(), "{st:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(!phone.state().join("control.sock").exists());
    // Stopped: admin reads the stored state directly.
    assert_eq!(phone.admin_ok(&["get", "reg-ttl"]), "600\n");
    phone.start();
    wait_sessions(&acs, 2, &phone);
    let s = &acs.sessions()[1];
    assert!(codes(s).contains(&"1 BOOT".into()));
    assert!(!codes(s).contains(&"0 BOOTSTRAP".into()), "{:?}", codes(s));
    let v = values(s, 1);
    assert_eq!(value(&v, &format!("{SIP}RegisterExpires")), "600");
    assert_eq!(value(&v, "Device.ManagementServer.ParameterKey"), "key-1");
}

#[test]
fn invalid_set_changes_nothing_and_names_the_faults() {
    let acs = FakeAcs::builder()
        .cwmp(CwmpScript::new().session([
            spv(
                &[
                    (
                        &format!("{SIP}ProxyServerPort"),
                        "5070",
                        XsdType::UnsignedInt,
                    ),
                    (&format!("{SIP}RegisterExpires"), "10", XsdType::UnsignedInt),
                    ("Device.DeviceInfo.Manufacturer", "x", XsdType::String),
                    ("Device.Nope", "1", XsdType::String),
                ],
                "bad",
            ),
            gpv(&[
                &format!("{SIP}ProxyServerPort"),
                "Device.ManagementServer.ParameterKey",
            ]),
        ]))
        .start()
        .expect("acs");
    let mut phone = Phone::new(acs.url(), "");
    phone.start();
    wait_sessions(&acs, 1, &phone);
    let s = &acs.sessions()[0];
    let fault = match s.received.get(1).and_then(|e| e.as_ref()).map(|e| &e.body) {
        Some(Body::Fault(f)) => f.detail.clone().expect("cwmp fault"),
        other => panic!("expected a fault, got {other:?}"),
    };
    assert_eq!(fault.code, 9003);
    let per: Vec<(String, u32)> = fault
        .set_parameter_values_faults
        .iter()
        .map(|f| (f.name.clone(), f.code))
        .collect();
    assert!(
        per.contains(&(format!("{SIP}RegisterExpires"), 9007)),
        "{per:?}"
    );
    assert!(
        per.contains(&("Device.DeviceInfo.Manufacturer".into(), 9008)),
        "{per:?}"
    );
    assert!(per.contains(&("Device.Nope".into(), 9005)), "{per:?}");
    let v = values(s, 2);
    assert_eq!(value(&v, &format!("{SIP}ProxyServerPort")), "5060");
    assert_eq!(value(&v, "Device.ManagementServer.ParameterKey"), "");
}

#[test]
fn reboot_restarts_uptime_and_reports_boot_and_m_reboot() {
    let acs = FakeAcs::builder()
        .cwmp(
            CwmpScript::new()
                .session([AcsMessage::Request(Body::Reboot(Reboot {
                    command_key: "rb-1".into(),
                }))])
                .session([gpv(&["Device.DeviceInfo.UpTime"])]),
        )
        .start()
        .expect("acs");
    let mut phone = Phone::new(acs.url(), "");
    phone.start();
    // Let UpTime grow past zero before the reboot is asked for... it is asked at once, so
    // check the second boot's UpTime is small instead, and that the process stayed the same.
    wait_sessions(&acs, 2, &phone);
    let s = &acs.sessions()[1];
    let c = codes(s);
    assert!(
        c.contains(&"1 BOOT".into()) && c.contains(&"M Reboot".into()),
        "{c:?}"
    );
    assert_eq!(command_key(s, "M Reboot").as_deref(), Some("rb-1"));
    assert!(!c.contains(&"0 BOOTSTRAP".into()), "{c:?}");
    let up: u32 = value(&values(s, 1), "Device.DeviceInfo.UpTime")
        .parse()
        .unwrap();
    assert!(up < 5, "UpTime restarted: {up}");
    assert!(
        phone.child.as_mut().unwrap().try_wait().unwrap().is_none(),
        "still running"
    );
    assert!(phone.terminate().success());
}

#[test]
fn factory_reset_restores_the_configuration_defaults() {
    let acs = FakeAcs::builder()
        .cwmp(
            CwmpScript::new()
                .session([
                    spv(
                        &[(
                            &format!("{SIP}RegisterExpires"),
                            "1200",
                            XsdType::UnsignedInt,
                        )],
                        "key-fr",
                    ),
                    AcsMessage::Request(Body::FactoryReset),
                ])
                .session([gpv(&[
                    &format!("{SIP}RegisterExpires"),
                    "Device.ManagementServer.ParameterKey",
                    "Device.ManagementServer.URL",
                ])]),
        )
        .start()
        .expect("acs");
    let mut phone = Phone::new(acs.url(), "reg-ttl = 900");
    phone.start();
    wait_sessions(&acs, 2, &phone);
    let s = &acs.sessions()[1];
    let c = codes(s);
    assert!(
        c.contains(&"0 BOOTSTRAP".into()) && c.contains(&"1 BOOT".into()),
        "{c:?}"
    );
    let v = values(s, 1);
    assert_eq!(value(&v, &format!("{SIP}RegisterExpires")), "900");
    assert_eq!(value(&v, "Device.ManagementServer.ParameterKey"), "");
    assert_eq!(value(&v, "Device.ManagementServer.URL"), acs.url());
    assert!(phone.terminate().success());
}

#[test]
fn admin_change_reaches_the_acs_as_value_change() {
    let acs = FakeAcs::builder()
        .cwmp(CwmpScript::new().session([AcsMessage::notify(format!("{SIP}RegisterExpires"), 2)]))
        .start()
        .expect("acs");
    let mut phone = Phone::new(acs.url(), "acs-password = \"hunter2\"");
    phone.start();
    wait_sessions(&acs, 1, &phone);
    // Through the running daemon, the command also says what changed.
    assert_eq!(
        phone.admin_ok(&["set", "reg-ttl", "1800"]),
        "reg-ttl: \"3600\" → \"1800\"\n"
    );
    wait_sessions(&acs, 2, &phone);
    let s = &acs.sessions()[1];
    assert_eq!(codes(s), ["4 VALUE CHANGE"]);
    let p = s
        .inform
        .parameter_list
        .iter()
        .find(|p| p.name == format!("{SIP}RegisterExpires"))
        .expect("changed parameter in the Inform");
    assert_eq!(p.value, "1800");
    // The running phone answers get/list; invalid sets are refused with the fault.
    assert_eq!(phone.admin_ok(&["get", "reg-ttl"]), "1800\n");
    let list = phone.admin_ok(&["list"]);
    assert!(list.contains("reg-ttl = \"1800\"\n"), "{list}");
    assert!(list.contains("acs-password = \"********\"\n"), "{list}");
    assert!(!list.contains("hunter2"));
    let bad = phone.admin(&["set", "reg-ttl", "5"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("9007"));
    let bad = phone.admin(&["set", "no-such-item", "5"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("no-such-item"));
    assert_eq!(phone.admin_ok(&["get", "reg-ttl"]), "1800\n");
    assert!(phone.terminate().success());
}

#[test]
fn admin_change_while_stopped_reaches_the_acs_at_the_next_start() {
    let acs = FakeAcs::builder()
        .cwmp(CwmpScript::new().session([AcsMessage::notify(format!("{SIP}RegisterExpires"), 1)]))
        .start()
        .expect("acs");
    let mut phone = Phone::new(acs.url(), "");
    phone.start();
    wait_sessions(&acs, 1, &phone);
    assert!(phone.terminate().success());
    phone.admin_ok(&["set", "reg-ttl", "1500"]);
    phone.start();
    wait_sessions(&acs, 2, &phone);
    let s = &acs.sessions()[1];
    let c = codes(s);
    assert!(c.contains(&"1 BOOT".into()), "{c:?}");
    // Passive notification: in the next Inform, which is the boot Inform here, or the one
    // right after it.
    let deadline = Instant::now() + WAIT;
    loop {
        let found = acs.sessions().iter().skip(1).any(|s| {
            codes(s).contains(&"4 VALUE CHANGE".into())
                && s.inform
                    .parameter_list
                    .iter()
                    .any(|p| p.name == format!("{SIP}RegisterExpires") && p.value == "1500")
        });
        if found {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{:?}\n{}",
            acs.sessions().iter().map(codes).collect::<Vec<_>>(),
            phone.log()
        );
        // A passive change waits for the next Inform: cause one.
        phone.admin_ok(&["set", "acs-periodic-inform-interval", "1"]);
        phone.admin_ok(&["set", "acs-periodic-inform-enabled", "true"]);
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(phone.terminate().success());
}

#[test]
fn sigterm_during_a_stalled_session_exits_and_keeps_the_events() {
    let acs = FakeAcs::builder()
        .faults([cwmp_testkit::acs::Fault::Stall(Duration::from_secs(60))])
        .start()
        .expect("acs");
    let mut phone = Phone::new(acs.url(), "");
    phone.start();
    assert!(acs.wait_for_requests(1, WAIT), "{}", phone.log());
    let started = Instant::now();
    assert!(phone.terminate().success());
    assert!(started.elapsed() < Duration::from_secs(5));
    phone.start();
    wait_sessions(&acs, 1, &phone);
    let c = codes(&acs.sessions()[0]);
    assert!(
        c.contains(&"0 BOOTSTRAP".into()) && c.contains(&"1 BOOT".into()),
        "{c:?}"
    );
    assert!(phone.terminate().success());
}

#[test]
fn acs_url_change_by_admin_bootstraps_the_new_acs() {
    let acs1 = FakeAcs::builder().start().expect("acs1");
    let acs2 = FakeAcs::builder().start().expect("acs2");
    let mut phone = Phone::new(acs1.url(), "");
    phone.start();
    wait_sessions(&acs1, 1, &phone);
    phone.admin_ok(&["set", "acs-server-address", acs2.url()]);
    wait_sessions(&acs2, 1, &phone);
    let c = codes(&acs2.sessions()[0]);
    assert!(c.contains(&"0 BOOTSTRAP".into()), "{c:?}");
    assert!(phone.terminate().success());
}

#[test]
fn settings_the_acs_changes_apply_without_a_restart() {
    // The ACS turns on 1-second periodic informs, then moves the phone to another ACS.
    let acs2 = FakeAcs::builder().start().expect("acs2");
    let acs1 = FakeAcs::builder()
        .cwmp(
            CwmpScript::new()
                .session([spv(
                    &[
                        (
                            "Device.ManagementServer.PeriodicInformEnable",
                            "true",
                            XsdType::Boolean,
                        ),
                        (
                            "Device.ManagementServer.PeriodicInformInterval",
                            "1",
                            XsdType::UnsignedInt,
                        ),
                    ],
                    "p",
                )])
                .session([])
                .session([spv(
                    &[("Device.ManagementServer.URL", acs2.url(), XsdType::String)],
                    "u",
                )]),
        )
        .start()
        .expect("acs1");
    let mut phone = Phone::new(acs1.url(), "");
    phone.start();
    wait_sessions(&acs1, 3, &phone);
    assert!(codes(&acs1.sessions()[1]).contains(&"2 PERIODIC".into()));
    wait_sessions(&acs2, 1, &phone);
    let c = codes(&acs2.sessions()[0]);
    assert!(c.contains(&"0 BOOTSTRAP".into()), "{c:?}");
    assert!(phone.terminate().success());
}

#[test]
fn dhcp_option43_sets_the_acs_and_malformed_input_changes_nothing() {
    let acs1 = FakeAcs::builder().start().expect("acs1");
    let acs2 = FakeAcs::builder().start().expect("acs2");
    let mut phone = Phone::new(acs1.url(), "");
    phone.start();
    wait_sessions(&acs1, 1, &phone);
    // Truncated sub-option: refused, nothing applied.
    let bad = phone.run(&["dhcp", "--option43", "0110687474"]);
    assert!(!bad.status.success());
    assert!(!bad.stderr.is_empty());
    assert_eq!(
        phone.admin_ok(&["get", "acs-server-address"]),
        format!("{}\n", acs1.url())
    );
    let opt = cpe_agent::dhcp::Option43 {
        acs_url: Some(acs2.url().to_owned()),
        provisioning_code: Some("PC-42".into()),
        retry_min_wait_interval: Some(2),
        retry_interval_multiplier: None,
    };
    let hex = hex::encode(cpe_agent::dhcp::encode(&opt));
    let out = phone.run(&["dhcp", "--option43", &hex]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The command says what it changed.
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("ProvisioningCode: \"\" → \"PC-42\"")
            && said.contains(&format!(
                "acs-server-address: \"{}\" → \"{}\"",
                acs1.url(),
                acs2.url()
            ))
            && said.contains("acs-retry-min-wait-interval:"),
        "{said}"
    );
    wait_sessions(&acs2, 1, &phone);
    let s = &acs2.sessions()[0];
    assert!(codes(s).contains(&"0 BOOTSTRAP".into()));
    let pc = s
        .inform
        .parameter_list
        .iter()
        .find(|p| p.name == "Device.DeviceInfo.ProvisioningCode")
        .expect("ProvisioningCode is forced-inform");
    assert_eq!(pc.value, "PC-42");
    assert_eq!(
        phone.admin_ok(&["get", "acs-retry-min-wait-interval"]),
        "2\n"
    );
    assert!(phone.terminate().success());
}

fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

#[test]
fn https_with_a_provisioned_client_certificate() {
    let client_ca = cwmp_testkit::acs::TestCa::new("Test client CA");
    let client = client_ca.issue_client("001AE8A1B2C3");
    let acs = FakeAcs::builder()
        .https()
        .require_client_cert(client_ca.cert_der())
        .start()
        .expect("acs");
    let ca = acs.ca().expect("https ca").cert_pem();
    let items = format!(
        "acs-server-ca-certificate-1 = {}\nacs-client-certificate = {}\nacs-client-key = {}\n",
        toml_string(&ca),
        toml_string(&client.cert_pem),
        toml_string(&client.key_pem)
    );
    let mut phone = Phone::new(acs.url(), &items);
    phone.start();
    wait_sessions(&acs, 1, &phone);
    assert!(codes(&acs.sessions()[0]).contains(&"0 BOOTSTRAP".into()));
    // The key is never listed.
    let list = phone.admin_ok(&["list"]);
    assert!(!list.contains("PRIVATE KEY"), "{list}");
    assert!(phone.terminate().success());
}

#[test]
fn https_without_a_client_certificate_presents_the_default_device_certificate() {
    // The phone generates its default certificate on first start; start it once against
    // nothing to learn it, then require exactly that certificate.
    let mut phone = Phone::new("http://127.0.0.1:9/", "");
    phone.start();
    assert!(phone.terminate().success());
    let pem = std::fs::read_to_string(phone.state().join("device-cert.pem")).expect("cert");
    let der = cwmp_client::parse_certificates(&pem).expect("pem")[0].to_vec();
    let acs = FakeAcs::builder()
        .https()
        .require_client_cert(der)
        .start()
        .expect("acs");
    let ca = acs.ca().expect("ca").cert_pem();
    phone.admin_ok(&["set", "acs-server-ca-certificate-1", &ca]);
    phone.admin_ok(&["set", "acs-server-address", acs.url()]);
    phone.start();
    wait_sessions(&acs, 1, &phone);
    assert!(phone.terminate().success());
}

#[test]
fn kill_9_then_restart_loses_no_event() {
    // Session 1 asks for a reboot; the two Informs after it fail (500), and the phone is
    // killed in between; the Inform that finally succeeds still carries M Reboot.
    let fail = || AcsMessage::Reply(Reply::status(500));
    let acs = FakeAcs::builder()
        .cwmp(
            CwmpScript::new()
                .session([AcsMessage::Request(Body::Reboot(Reboot {
                    command_key: "rb-9".into(),
                }))])
                .session_with_inform_reply(fail(), [])
                .session_with_inform_reply(fail(), []),
        )
        .start()
        .expect("acs");
    let mut phone = Phone::new(acs.url(), "");
    phone.start();
    wait_sessions(&acs, 1, &phone);
    // The failed Inform after the reboot.
    let deadline = Instant::now() + WAIT;
    while acs.sessions().len() < 2 {
        assert!(Instant::now() < deadline, "{}", phone.log());
        std::thread::sleep(Duration::from_millis(10));
    }
    phone.kill9();
    phone.start();
    let deadline = Instant::now() + WAIT;
    loop {
        let s = acs.sessions();
        if let Some(last) = s.last().filter(|l| l.ended) {
            let c = codes(last);
            assert!(
                c.contains(&"M Reboot".into()) && c.contains(&"1 BOOT".into()),
                "{c:?}"
            );
            assert_eq!(command_key(last, "M Reboot").as_deref(), Some("rb-9"));
            break;
        }
        assert!(Instant::now() < deadline, "{}", phone.log());
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(phone.terminate().success());
}

#[test]
#[cfg_attr(
    peer_missing_curl,
    ignore = "curl not installed (apt-get install curl)"
)]
fn connection_request_by_curl_digest_starts_a_session() {
    let acs = FakeAcs::builder().start().expect("acs");
    let mut phone = Phone::with_top(
        acs.url(),
        "connection-request-address = \"127.0.0.1:0\"\nudp-address = \"127.0.0.1:0\"",
        "acs-request-username = \"acs\"\nacs-request-password = \"cr-secret\"",
    );
    phone.start();
    wait_sessions(&acs, 1, &phone);
    let url = phone.admin_ok(&["get", "acs-request-address"]);
    let url = url.trim();
    // ConnectionRequestURL has Active notification: its first value may cause a
    // `4 VALUE CHANGE` session of its own. Let that settle first.
    std::thread::sleep(Duration::from_millis(500));
    let before = acs.sessions_ended();
    assert!(url.starts_with("http://127.0.0.1:"), "{url:?}");
    // Wrong password: 401, no session.
    let out = Command::new(test_peers::program("curl"))
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--digest",
            "-u",
        ])
        .arg("acs:wrong")
        .arg(url)
        .output()
        .expect("curl");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "401");
    let out = Command::new(test_peers::program("curl"))
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--digest",
            "-u",
        ])
        .arg("acs:cr-secret")
        .arg(url)
        .output()
        .expect("curl");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "200");
    wait_sessions(&acs, before + 1, &phone);
    let c = codes(&acs.sessions()[before]);
    assert!(c.contains(&"6 CONNECTION REQUEST".into()), "{c:?}");
    // Another path: 404. Both refusals are logged with the reason and are trace records
    // (the bare first request of each Digest exchange is not a refusal).
    let out = Command::new(test_peers::program("curl"))
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}"])
        .arg(format!("{}-not-it", url))
        .output()
        .expect("curl");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "404");
    assert!(phone.terminate().success());
    let log = phone.log();
    assert!(
        log.contains("connection request refused with 401: authentication failed: wrong password"),
        "{log}"
    );
    assert!(
        log.contains("connection request refused with 404: not the ConnectionRequestURL's path"),
        "{log}"
    );
    let mut refused = 0;
    for f in std::fs::read_dir(phone.state().join("trace")).expect("trace") {
        let text = std::fs::read_to_string(f.expect("file").path()).expect("read");
        refused += text
            .lines()
            .filter(|l| l.contains("\"type\":\"connection_request_refused\""))
            .count();
    }
    assert_eq!(refused, 2, "one trace record per refusal");
}

#[test]
fn bad_configuration_is_refused_naming_the_key() {
    let phone = Phone::new("http://127.0.0.1:9/", "sip-transport = 9");
    let out = Command::new(BIN)
        .arg("--config")
        .arg(phone.config())
        .output()
        .expect("run");
    // EX_CONFIG, which the systemd unit does not restart (RestartPreventExitStatus=78).
    assert_eq!(out.status.code(), Some(78));
    assert!(String::from_utf8_lossy(&out.stderr).contains("sip-transport"));
    let _ = Path::new(BIN);
}

/// A connection-request port already in use stops the start, naming the address, instead of
/// a phone running on without its listener (which looks offline to the ACS).
#[test]
fn a_busy_connection_request_port_is_refused_at_start() {
    let busy = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = busy.local_addr().expect("addr");
    let phone = Phone::with_top(
        "http://127.0.0.1:9/",
        &format!("connection-request-address = \"{addr}\""),
        "",
    );
    let out = Command::new(BIN)
        .arg("--config")
        .arg(phone.config())
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("connection-request-address {addr}")),
        "{err}"
    );
}

/// `admin get` masks a secret like `list` does; `--reveal` prints it.
#[test]
fn admin_get_masks_secrets_unless_revealed() {
    let phone = Phone::new("http://127.0.0.1:9/", "acs-password = \"s3cret\"");
    assert_eq!(phone.admin_ok(&["get", "acs-password"]), "********\n");
    assert_eq!(
        phone.admin_ok(&["get", "acs-password", "--reveal"]),
        "s3cret\n"
    );
    assert_eq!(phone.admin_ok(&["get", "acs-username"]), "\n");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

fn inform_value(s: &SessionLog, name: &str) -> Option<String> {
    s.inform
        .parameter_list
        .iter()
        .find(|p| p.name == name)
        .map(|p| p.value.clone())
}

/// Issue: the very first Inform carried `4 VALUE CHANGE` for an address the boot itself
/// established. A bootstrap carries none; after a boot, only values that differ from what the
/// ACS was last told are value changes (the last reported values are in the persisted state).
#[test]
fn boot_informs_report_value_changes_only_for_values_the_acs_does_not_know() {
    let acs = FakeAcs::builder()
        .cwmp(
            CwmpScript::new().session([AcsMessage::Request(Body::Reboot(Reboot {
                command_key: "rb-1".into(),
            }))]),
        )
        .start()
        .expect("acs");
    let (cr1, udp) = (free_port(), free_port());
    let top = |cr: u16| {
        format!(
            "connection-request-address = \"127.0.0.1:{cr}\"\nudp-address = \"127.0.0.1:{udp}\"\n"
        )
    };
    let mut phone = Phone::with_top(acs.url(), &top(cr1), "");
    phone.start();
    // Bootstrap, then the in-process reboot the ACS asked for.
    wait_sessions(&acs, 2, &phone);
    let s = acs.sessions();
    assert_eq!(codes(&s[0]), ["0 BOOTSTRAP", "1 BOOT"], "{}", phone.log());
    assert_eq!(codes(&s[1]), ["1 BOOT", "M Reboot"], "{}", phone.log());
    assert!(phone.terminate().success());

    // Same addresses after a restart: 1 BOOT alone.
    phone.start();
    wait_sessions(&acs, 3, &phone);
    assert_eq!(codes(&acs.sessions()[2]), ["1 BOOT"], "{}", phone.log());
    assert!(phone.terminate().success());

    // A new connection-request port: ConnectionRequestURL is new to the ACS.
    let cr2 = free_port();
    let cfg = std::fs::read_to_string(phone.config()).expect("config");
    std::fs::write(
        phone.config(),
        cfg.replace(&format!("127.0.0.1:{cr1}"), &format!("127.0.0.1:{cr2}")),
    )
    .expect("config");
    phone.start();
    wait_sessions(&acs, 4, &phone);
    let s = &acs.sessions()[3];
    assert_eq!(codes(s), ["1 BOOT", "4 VALUE CHANGE"], "{}", phone.log());
    let url = inform_value(s, "Device.ManagementServer.ConnectionRequestURL").unwrap_or_default();
    assert!(url.contains(&format!(":{cr2}/")), "{url}");
    assert!(phone.terminate().success());
}

/// Issue: `DeviceStatus` read `Initializing` while the phone answered its ACS. A booted
/// phone that talks to its ACS is `Up`, from its first session on; a phone whose running
/// firmware image fails verification at boot is `Error` (README, "DeviceStatus").
#[test]
fn device_status_is_up_in_the_first_session_and_error_for_a_broken_image() {
    const STATUS: &str = "Device.DeviceInfo.DeviceStatus";
    let acs = FakeAcs::builder()
        .cwmp(
            CwmpScript::new()
                .session([gpv(&[STATUS])])
                .session([gpv(&[STATUS])]),
        )
        .start()
        .expect("acs");
    let mut phone = Phone::new(acs.url(), "");
    phone.start();
    wait_sessions(&acs, 1, &phone);
    assert_eq!(value(&values(&acs.sessions()[0], 1), STATUS), "Up");
    assert!(phone.terminate().success());

    // The image the phone runs is gone (a corrupt flash): Error at the next boot.
    let fw = phone.state().join("transfer").join("firmware");
    std::fs::create_dir_all(&fw).expect("dir");
    std::fs::write(
        fw.join("active"),
        r#"{"version":"V9.9","image":"missing.img"}"#,
    )
    .expect("pointer");
    phone.start();
    wait_sessions(&acs, 2, &phone);
    assert_eq!(value(&values(&acs.sessions()[1], 1), STATUS), "Error");
    assert!(phone.terminate().success());
}

/// `admin set` prints what it changed (secrets masked), refuses identity and status items
/// (only the configuration file sets them), and a configuration file edited after the first
/// start is reported at start instead of being silently ignored.
#[test]
fn admin_set_reports_changes_refuses_identity_items_and_config_drift_is_logged() {
    let mut phone = Phone::new("http://127.0.0.1:9/", "reg-ttl = 600");
    let out = phone.admin_ok(&["set", "reg-ttl", "1200"]);
    assert_eq!(out, "reg-ttl: \"600\" → \"1200\"\n");
    assert_eq!(phone.admin_ok(&["set", "reg-ttl", "1200"]), "no change\n");
    let out = phone.admin_ok(&["set", "sip-pwd", "new-secret"]);
    assert!(
        out.starts_with("sip-pwd:") && !out.contains("new-secret"),
        "{out}"
    );
    for item in [
        "device-type",
        "standard-software-version",
        "acs-request-address",
        "mac-address",
    ] {
        let r = phone.admin(&["set", item, "x"]);
        assert!(!r.status.success(), "{item} was changed");
        let err = String::from_utf8_lossy(&r.stderr);
        assert!(err.contains("configuration file"), "{item}: {err}");
    }
    // A URL item holds a URL, whichever way it is set; the configuration key (an item since
    // auto provisioning, issue 14) holds 64 hex digits.
    let r = phone.admin(&["set", "acs-server-address", "127.0.0.1:7547"]);
    assert!(!r.status.success());
    assert!(String::from_utf8_lossy(&r.stderr).contains("URL"));
    let r = phone.admin(&["set", "config-encryption-key", "xyz"]);
    assert!(!r.status.success());
    assert!(String::from_utf8_lossy(&r.stderr).contains("64 hex digits"));
    let r = phone.admin(&["set", "no-such-item", "x"]);
    assert!(String::from_utf8_lossy(&r.stderr).contains("not an item"));
    // The file now says 900; the state (1200) wins, and the start says so.
    let cfg = std::fs::read_to_string(phone.config()).expect("cfg");
    std::fs::write(
        phone.config(),
        cfg.replace("reg-ttl = 600", "reg-ttl = 900"),
    )
    .expect("cfg");
    phone.start();
    let warned = |p: &Phone| {
        p.log()
            .contains("reg-ttl = \"900\" is not in effect: the phone's state has \"1200\"")
    };
    let deadline = Instant::now() + WAIT;
    while !warned(&phone) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(warned(&phone), "{}", phone.log());
    assert!(phone.terminate().success());
}

/// Every invalid value of a configuration file is reported at once, one line each, and an
/// ACS address without a scheme is refused like any invalid value.
#[test]
fn a_configuration_with_several_errors_reports_them_all() {
    let phone = Phone::with_top(
        "127.0.0.1:7547",
        "udp-address = \"nowhere\"\ncolour = \"blue\"",
        "sip-transport = 9\nno-such-item = 1",
    );
    let out = Command::new(BIN)
        .arg("--config")
        .arg(phone.config())
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(78));
    let err = String::from_utf8_lossy(&out.stderr);
    for key in [
        "items.acs-server-address",
        "udp-address",
        "colour: unknown key",
        "items.sip-transport",
        "items.no-such-item",
    ] {
        let lines: Vec<&str> = err.lines().filter(|l| l.contains(key)).collect();
        assert_eq!(lines.len(), 1, "{key}: {err}");
    }
}

/// One info line per session (events → the ACS's requests with counts → result, duration);
/// a connection failure names the URL and when the next attempt is due.
#[test]
fn each_session_is_one_log_line_and_a_failure_says_when_the_next_attempt_is() {
    let acs = FakeAcs::builder()
        .cwmp(CwmpScript::new().session([
            gpv(&["Device.DeviceInfo.UpTime"]),
            gpv(&["Device.DeviceInfo.UpTime"]),
        ]))
        .start()
        .expect("acs");
    let mut phone = Phone::new(acs.url(), "");
    phone.start();
    wait_sessions(&acs, 1, &phone);
    let want = "session 1: 0 BOOTSTRAP, 1 BOOT → GetParameterValues(2) → ok in ";
    let deadline = Instant::now() + WAIT;
    while !phone.log().contains(want) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(phone.log().contains(want), "{}", phone.log());
    assert!(phone.terminate().success());

    // An ACS that refuses connections: the warning names the URL and the retry.
    let port = free_port();
    let mut down = Phone::new(&format!("http://127.0.0.1:{port}/acs"), "");
    down.start();
    let said = |p: &Phone| {
        p.log().lines().any(|l| {
            l.contains("WARN")
                && l.contains(&format!("http://127.0.0.1:{port}/acs: "))
                && l.contains("; retry 1 in ")
        })
    };
    let deadline = Instant::now() + WAIT;
    while !said(&down) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(said(&down), "{}", down.log());
    assert!(down.terminate().success());
    // Stopping is not the ACS's fault.
    assert!(!down
        .log()
        .lines()
        .any(|l| l.contains("WARN") && l.contains("shut down")));
}
