//! What a real ACS (GenieACS) does, end to end: the real `cpe-agent` binary against the fake
//! ACS on loopback (issue 10, parts 2 and 3).

mod phone_common;

use cwmp_model::XsdType;
use cwmp_soap::{Body, GetParameterValues, ParameterValueStruct, SetParameterValues};
use cwmp_testkit::acs::{AcsMessage, CwmpScript, FakeAcs, SessionLog};
use phone_common::{wait_sessions, Phone};

const PIT: &str = "Device.ManagementServer.PeriodicInformTime";

fn gpv(names: &[&str]) -> AcsMessage {
    AcsMessage::Request(Body::GetParameterValues(GetParameterValues {
        parameter_names: names.iter().map(|n| n.to_string()).collect(),
    }))
}

fn spv(name: &str, value: &str, ty: XsdType, key: &str) -> AcsMessage {
    AcsMessage::Request(Body::SetParameterValues(SetParameterValues {
        parameter_list: vec![ParameterValueStruct::new(name, value, ty)],
        parameter_key: key.into(),
    }))
}

/// The CPE's message at `index` of the session's answers (0 is the empty POST).
fn answer(s: &SessionLog, index: usize) -> &Body {
    &s.received
        .get(index)
        .and_then(|e| e.as_ref())
        .unwrap_or_else(|| panic!("no answer {index}: {:?}", s.received))
        .body
}

/// The single value of the GetParameterValuesResponse at `index`.
fn gpv_value(s: &SessionLog, index: usize) -> (String, XsdType) {
    match answer(s, index) {
        Body::GetParameterValuesResponse(r) => {
            assert_eq!(r.parameter_list.len(), 1, "{r:?}");
            let p = &r.parameter_list[0];
            (p.value.clone(), p.xsi_type.expect("typed"))
        }
        other => panic!("expected a GetParameterValuesResponse, got {other:?}"),
    }
}

fn spv_status(s: &SessionLog, index: usize) -> i32 {
    match answer(s, index) {
        Body::SetParameterValuesResponse(r) => r.status,
        other => panic!("expected a SetParameterValuesResponse, got {other:?}"),
    }
}

/// GenieACS's default `inform` provision sets `PeriodicInformTime` to a value with
/// milliseconds and reads it back at every refresh: the phone must return exactly what was
/// set (issue 10 part 3), also after a restart, and an offset is normalised to `Z`.
#[test]
fn periodic_inform_time_reads_back_what_genieacs_set() {
    let acs = FakeAcs::builder()
        .cwmp(
            CwmpScript::new()
                .session([
                    spv(PIT, "1970-01-01T17:11:09.346Z", XsdType::DateTime, "k1"),
                    gpv(&[PIT]),
                    spv(
                        PIT,
                        "2024-05-01T12:00:00.250+02:00",
                        XsdType::DateTime,
                        "k2",
                    ),
                    gpv(&[PIT]),
                    spv(PIT, "1970-01-01T17:11:09.346Z", XsdType::DateTime, "k3"),
                ])
                .session([gpv(&[PIT])]),
        )
        .start()
        .expect("acs");
    let mut phone = Phone::new(acs.url(), "", "");
    phone.start();
    wait_sessions(&acs, 1, &phone);
    let s = &acs.sessions()[0];
    assert_eq!(spv_status(s, 1), 0);
    assert_eq!(
        gpv_value(s, 2),
        ("1970-01-01T17:11:09.346Z".to_owned(), XsdType::DateTime)
    );
    assert_eq!(spv_status(s, 3), 0);
    assert_eq!(
        gpv_value(s, 4),
        ("2024-05-01T10:00:00.25Z".to_owned(), XsdType::DateTime)
    );
    assert_eq!(spv_status(s, 5), 0);
    // Kept across a restart (the store writes the canonical form).
    phone.terminate();
    phone.start();
    wait_sessions(&acs, 2, &phone);
    let s = &acs.sessions()[1];
    assert_eq!(
        gpv_value(s, 1),
        ("1970-01-01T17:11:09.346Z".to_owned(), XsdType::DateTime)
    );
    phone.terminate();
}
