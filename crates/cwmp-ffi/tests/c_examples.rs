//! The C examples in `examples/c/`, compiled with the system C compiler against the static
//! library and run against the fake ACS on loopback: the blocking phone (plainly, with
//! AddressSanitizer + UndefinedBehaviorSanitizer, and under valgrind) and the step-wise phone
//! with its poll() loop.

use cwmp_model::XsdType;
use cwmp_soap::{Body, GetParameterValues, ParameterValueStruct, Reboot, SetParameterValues};
use cwmp_testkit::acs::{AcsMessage, CwmpScript, FakeAcs, SessionLog};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

const MS: &str = "Device.ManagementServer.";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The static library cargo built next to this test (`target/<profile>/libcwmp_ffi.a`).
fn static_lib() -> PathBuf {
    let exe = std::env::current_exe().expect("test path");
    let deps = exe.parent().expect("deps dir");
    for dir in [deps.parent().expect("profile dir"), deps] {
        let p = dir.join("libcwmp_ffi.a");
        if p.exists() {
            return p;
        }
    }
    panic!("libcwmp_ffi.a not found next to {}", exe.display());
}

/// Compiles `sources` (in examples/c) into `out` with `flags`.
fn build(sources: &[&str], out: &Path, flags: &[&str]) {
    let c = workspace().join("examples/c");
    let mut cmd = Command::new(test_peers::program("cc"));
    cmd.args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-g"])
        .args(flags)
        .arg("-I")
        .arg(workspace().join("crates/cwmp-ffi/include"));
    for s in sources {
        cmd.arg(c.join(s));
    }
    let st = cmd
        .arg(static_lib())
        .args(["-lpthread", "-ldl", "-lm", "-o"])
        .arg(out)
        .status()
        .expect("cc");
    assert!(st.success(), "cc failed for {sources:?} {flags:?}");
}

fn table() -> PathBuf {
    workspace().join("examples/c/phone_table.toml")
}

/// The C phone, killed when the test ends however it ends (a failed assertion must not leave
/// it running: an orphan keeps ports and inherited descriptors).
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn signal(child: &Child, sig: &str) {
    let st = Command::new("sh")
        .arg("-c")
        .arg(format!("kill -{sig} {}", child.id()))
        .status()
        .expect("kill");
    assert!(st.success());
}

fn wait_exit(child: &mut Child, limit: Duration) -> ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(st) = child.try_wait().expect("wait") {
            return st;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the phone did not exit");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn codes(s: &SessionLog) -> Vec<String> {
    s.event_codes()
}

fn inform_value(s: &SessionLog, name: &str) -> Option<String> {
    s.inform
        .parameter_list
        .iter()
        .find(|p| p.name == name)
        .map(|p| p.value.clone())
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
        .unwrap_or_else(|| panic!("{name} missing from {list:?}"))
        .1
        .clone()
}

fn wait_sessions(acs: &FakeAcs, n: usize, limit: Duration, log: &Path) {
    assert!(
        acs.wait_for_sessions(n, limit),
        "expected {n} sessions, got {}: {:?}\n{}",
        acs.sessions_ended(),
        acs.sessions().iter().map(codes).collect::<Vec<_>>(),
        std::fs::read_to_string(log).unwrap_or_default()
    );
}

/// The whole scenario against one build of `phone.c`, run through `wrapper` (valgrind) or
/// directly: bootstrap, GetParameterValues, SetParameterValues accepted and refused, Reboot,
/// a connection request, a local change reported from another thread, a clean stop.
/// Returns the phone's stderr.
fn phone_scenario(bin: &Path, wrapper: &[&str], patience: Duration) -> String {
    let ntp = "Device.Time.NTPServer1";
    let interval = &format!("{MS}PeriodicInformInterval");
    let acs = FakeAcs::builder()
        .cwmp(CwmpScript::new().session([
            gpv(&["Device.DeviceInfo.", interval]),
            spv(
                &[
                    (interval, "600", XsdType::UnsignedInt),
                    (ntp, "time.example.net", XsdType::String),
                ],
                "k1",
            ),
            // Refused as a whole by the phone's own check in its commit callback (NTPServer1
            // must be a host name): Time.Enable, valid, is not applied either.
            spv(
                &[
                    ("Device.Time.Enable", "false", XsdType::Boolean),
                    (ntp, "not a host!", XsdType::String),
                ],
                "k2",
            ),
            gpv(&[
                &format!("{MS}ParameterKey"),
                interval,
                ntp,
                "Device.Time.Enable",
                &format!("{MS}Password"),
            ]),
            AcsMessage::Request(Body::Reboot(Reboot {
                command_key: "rb-1".into(),
            })),
        ]))
        .start()
        .expect("fake ACS");
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("phone.log");
    let state = dir.path().join("state");
    std::fs::create_dir(&state).expect("state dir");
    let mut cmd = match wrapper.split_first() {
        Some((w, args)) => {
            let mut c = Command::new(w);
            c.args(args).arg(bin);
            c
        }
        None => Command::new(bin),
    };
    let mut child = Guard(
        cmd.arg(table())
            .arg(&state)
            .arg(acs.url())
            .arg("127.0.0.1:0")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log"))
            .spawn()
            .expect("run the phone"),
    );

    // Session 1 (bootstrap) with the scripted RPCs, then the reboot's session 2.
    wait_sessions(&acs, 2, patience, &log);
    let sessions = acs.sessions();
    let s1 = &sessions[0];
    let c = codes(s1);
    assert!(
        c.contains(&"0 BOOTSTRAP".into()) && c.contains(&"1 BOOT".into()),
        "{c:?}"
    );
    assert_eq!(s1.inform.device_id.serial_number, "C0FFEE000001");
    assert_eq!(s1.inform.device_id.oui, "00C0FF");
    let v = values(s1, 1);
    assert_eq!(
        value(&v, "Device.DeviceInfo.Manufacturer"),
        "Example Phones"
    );
    assert_eq!(value(&v, "Device.DeviceInfo.SoftwareVersion"), "1.0.0");
    assert_eq!(value(&v, interval), "3600");
    match s1.received.get(2).and_then(|e| e.as_ref()).map(|e| &e.body) {
        Some(Body::SetParameterValuesResponse(r)) => assert_eq!(r.status, 0),
        other => panic!("expected a SetParameterValuesResponse, got {other:?}"),
    }
    let fault = match s1.received.get(3).and_then(|e| e.as_ref()).map(|e| &e.body) {
        Some(Body::Fault(f)) => f.detail.clone().expect("CWMP fault"),
        other => panic!("expected a fault, got {other:?}"),
    };
    assert_eq!(fault.code, 9003);
    let per: Vec<(String, u32, String)> = fault
        .set_parameter_values_faults
        .iter()
        .map(|f| (f.name.clone(), f.code, f.string.clone()))
        .collect();
    assert_eq!(per.len(), 1, "{per:?}");
    assert!(
        per.iter()
            .any(|(n, c, s)| n == ntp && *c == 9007 && s.contains("host name")),
        "{per:?}"
    );
    let v = values(s1, 4);
    assert_eq!(value(&v, &format!("{MS}ParameterKey")), "k1");
    assert_eq!(value(&v, interval), "600");
    assert_eq!(value(&v, ntp), "time.example.net");
    assert_eq!(
        value(&v, &format!("{MS}Password")),
        "",
        "secrets read as empty"
    );

    let s2 = &sessions[1];
    let c = codes(s2);
    assert!(
        c.contains(&"1 BOOT".into()) && c.contains(&"M Reboot".into()),
        "{c:?}"
    );
    assert!(!c.contains(&"0 BOOTSTRAP".into()), "{c:?}");
    assert_eq!(
        inform_value(s2, &format!("{MS}ParameterKey")).as_deref(),
        Some("k1")
    );

    // A connection request through the library's listener (Digest, curl as the ACS).
    let url = inform_value(s2, &format!("{MS}ConnectionRequestURL")).expect("CR URL");
    assert!(url.starts_with("http://127.0.0.1:"), "{url:?}");
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
        .arg(&url)
        .output()
        .expect("curl");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "200");
    wait_sessions(&acs, 3, patience, &log);
    let c = codes(&acs.sessions()[2]);
    assert!(c.contains(&"6 CONNECTION REQUEST".into()), "{c:?}");

    // A local change on the signal thread: cwmp_agent_value_changed, active notification.
    signal(&child.0, "USR1");
    wait_sessions(&acs, 4, patience, &log);
    let s4 = &acs.sessions()[3];
    assert!(
        codes(s4).contains(&"4 VALUE CHANGE".into()),
        "{:?}",
        codes(s4)
    );
    assert_eq!(
        inform_value(s4, "Device.DeviceInfo.ProvisioningCode").as_deref(),
        Some("local-1")
    );

    signal(&child.0, "TERM");
    let st = wait_exit(&mut child.0, patience);
    let stderr = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(st.success(), "exit {st:?}\n{stderr}");
    assert!(stderr.contains("phone: stopped"), "{stderr}");
    let config = std::fs::read_to_string(state.join("config.txt")).expect("config.txt");
    assert!(config.contains("periodic-interval\t600\n"), "{config}");
    assert!(
        config.contains("ntp-server\ttime.example.net\n"),
        "{config}"
    );
    assert!(
        config.contains("cwmp:value:Device.ManagementServer.ParameterKey\tk1\n"),
        "{config}"
    );
    assert!(state.join("state.bin").exists());
    stderr
}

#[test]
#[cfg_attr(peer_missing_cc, ignore = "cc not installed (apt-get install gcc)")]
#[cfg_attr(
    peer_missing_curl,
    ignore = "curl not installed (apt-get install curl)"
)]
fn c_phone_runs_against_the_fake_acs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = dir.path().join("phone");
    build(&["phone.c", "phone_store.c"], &bin, &[]);
    phone_scenario(&bin, &[], Duration::from_secs(20));
}

#[test]
#[cfg_attr(peer_missing_cc, ignore = "cc not installed (apt-get install gcc)")]
#[cfg_attr(
    peer_missing_curl,
    ignore = "curl not installed (apt-get install curl)"
)]
fn c_phone_is_clean_under_address_and_undefined_behaviour_sanitizers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = dir.path().join("phone-asan");
    build(
        &["phone.c", "phone_store.c"],
        &bin,
        &[
            "-fsanitize=address,undefined",
            "-fno-sanitize-recover=all",
            "-fno-omit-frame-pointer",
        ],
    );
    let stderr = phone_scenario(&bin, &[], Duration::from_secs(40));
    for bad in ["AddressSanitizer", "LeakSanitizer", "runtime error"] {
        assert!(!stderr.contains(bad), "{stderr}");
    }
}

#[test]
#[cfg_attr(peer_missing_cc, ignore = "cc not installed (apt-get install gcc)")]
#[cfg_attr(
    peer_missing_curl,
    ignore = "curl not installed (apt-get install curl)"
)]
#[cfg_attr(
    peer_missing_valgrind,
    ignore = "valgrind not installed (apt-get install valgrind)"
)]
fn c_phone_is_clean_under_valgrind() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = dir.path().join("phone-vg");
    build(&["phone.c", "phone_store.c"], &bin, &[]);
    let valgrind = test_peers::program("valgrind");
    let valgrind = valgrind.to_str().expect("path");
    let stderr = phone_scenario(
        &bin,
        &[
            valgrind,
            "--error-exitcode=1",
            "--leak-check=full",
            "--errors-for-leak-kinds=definite,possible",
        ],
        Duration::from_secs(120),
    );
    assert!(stderr.contains("ERROR SUMMARY: 0 errors"), "{stderr}");
}

/// Runs `phone_poll` until `sessions` sessions have ended.
fn run_poll_phone(bin: &Path, state: &Path, acs: &FakeAcs, sessions: usize) -> String {
    let log = state.join("phone_poll.log");
    let mut child = Guard(
        Command::new(bin)
            .arg(table())
            .arg(state)
            .arg(acs.url())
            .arg(sessions.to_string())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log"))
            .spawn()
            .expect("run phone_poll"),
    );
    let st = wait_exit(&mut child.0, Duration::from_secs(30));
    let stderr = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(st.success(), "exit {st:?}\n{stderr}");
    stderr
}

#[test]
#[cfg_attr(peer_missing_cc, ignore = "cc not installed (apt-get install gcc)")]
fn c_poll_phone_runs_the_step_wise_engine_in_its_own_loop() {
    let acs = FakeAcs::builder()
        .cwmp(CwmpScript::new().session([gpv(&[
            "Device.DeviceInfo.SerialNumber",
            "Device.DeviceInfo.UpTime",
        ])]))
        .start()
        .expect("fake ACS");
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = dir.path().join("phone_poll");
    build(&["phone_poll.c", "phone_store.c"], &bin, &[]);
    let state = dir.path().join("state");
    std::fs::create_dir(&state).expect("state dir");

    // First boot: the bootstrap session, with a GetParameterValues, completes.
    let log = run_poll_phone(&bin, &state, &acs, 1);
    assert!(acs.wait_for_sessions(1, Duration::from_secs(5)), "{log}");
    let s = &acs.sessions()[0];
    let c = codes(s);
    assert!(
        c.contains(&"0 BOOTSTRAP".into()) && c.contains(&"1 BOOT".into()),
        "{c:?}"
    );
    assert_eq!(s.inform.device_id.serial_number, "C0FFEE000002");
    let v = values(s, 1);
    assert_eq!(value(&v, "Device.DeviceInfo.SerialNumber"), "C0FFEE000002");
    assert!(s.ended, "the session ended with the ACS's 204");
    // The session cookie went back with every POST after the Inform.
    let posts = acs.requests();
    assert!(posts.len() >= 3, "{}", posts.len());
    assert!(
        posts[1..].iter().all(|r| r.has_header("Cookie")),
        "cookie sent back"
    );

    // Second boot from the persisted state: no BOOTSTRAP again.
    run_poll_phone(&bin, &state, &acs, 1);
    assert!(acs.wait_for_sessions(2, Duration::from_secs(5)));
    let c = codes(&acs.sessions()[1]);
    assert!(
        c.contains(&"1 BOOT".into()) && !c.contains(&"0 BOOTSTRAP".into()),
        "{c:?}"
    );
}
