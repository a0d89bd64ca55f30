//! CPU cost of the engine.
//!
//! * `session/gpv_all_spv`: one complete session in-process against the Desk Phone data model
//!   held in memory: connection request, Inform, InformResponse, empty POST, a
//!   GetParameterValues of the whole tree, a SetParameterValues, the final 204. The ACS's
//!   messages are encoded once up front, so only the engine's work (and the store's) is timed.
//! * `simulation/week_of_periodic_informs`: a simulated week with a periodic inform every
//!   minute (10 081 sessions) through the testkit's scripted ACS, which also parses every CPE
//!   message and writes every ACS answer.
//!
//! Run: `cargo bench -p cwmp-engine --bench session`.
#![allow(missing_docs)] // criterion's macros generate undocumented functions

use criterion::{criterion_group, criterion_main, Criterion};
use cwmp_engine::{Agent, AgentConfig, BootReason, Input, Now, Output, PersistentState};
use cwmp_model::{MemoryStore, ParameterStore, XsdType};
use cwmp_soap::{
    Body, CwmpNamespace, Envelope, GetParameterValues, InformResponse, ParameterValueStruct,
    SetParameterValues,
};
use cwmp_testkit::sim::{Sim, SimClock};
use std::hint::black_box;
use std::time::Duration;

fn acs_messages() -> Vec<Vec<u8>> {
    let env = |body| {
        cwmp_soap::to_vec(&Envelope::new(CwmpNamespace::V1_2, body).with_id("acs-1")).unwrap()
    };
    vec![
        env(Body::InformResponse(InformResponse { max_envelopes: 1 })),
        env(Body::GetParameterValues(GetParameterValues {
            parameter_names: vec![String::new()],
        })),
        env(Body::SetParameterValues(SetParameterValues {
            parameter_list: vec![
                ParameterValueStruct::new(
                    "Device.ManagementServer.PeriodicInformInterval",
                    "3600",
                    XsdType::UnsignedInt,
                ),
                ParameterValueStruct::new(
                    "Device.Services.VoiceService.1.VoiceProfile.1.SIP.RegisterExpires",
                    "600",
                    XsdType::UnsignedInt,
                ),
            ],
            parameter_key: "bench".into(),
        })),
    ]
}

fn bench_session(c: &mut Criterion) {
    let model = deskphone_datamodel::DeskPhoneModel::builtin();
    let mut store = MemoryStore::in_memory(model.schema().clone());
    store
        .set_internal("Device.ManagementServer.URL", "http://acs.example:7547/")
        .unwrap();
    let mut clock = SimClock::new(SimClock::default_start());
    let mut agent = Agent::new(
        AgentConfig::default(),
        PersistentState::new(),
        BootReason::AgentRestart,
        1,
        clock.now(),
    )
    .unwrap();
    let msgs = acs_messages();
    let n_params = store.get_values(&[String::new()]).unwrap().len();

    // Feed `input`, answer each POST with the next canned message (then 204s) until the
    // engine is quiet; returns the POST count and the bytes the CPE posted.
    fn drive(
        agent: &mut Agent,
        store: &mut MemoryStore,
        clock: &mut SimClock,
        input: Input,
        msgs: &[Vec<u8>],
    ) -> (usize, usize) {
        clock.advance(Duration::from_secs(1));
        let now: Now = clock.now();
        agent.handle_input(store, now, input);
        let (mut step, mut sent) = (0, 0);
        loop {
            let mut posted = false;
            while let Some(o) = agent.poll_output() {
                if let Output::SendPost { body, .. } = o {
                    sent += body.map_or(0, |b| b.len());
                    posted = true;
                }
            }
            if !posted {
                return (step, sent);
            }
            let input = match msgs.get(step) {
                Some(m) => Input::http_response(200, m.clone()),
                None => Input::http_response(204, Vec::new()),
            };
            step += 1;
            agent.handle_input(store, clock.now(), input);
        }
    }
    // Start-up: the first-contact (BOOTSTRAP) session, outside the measurement.
    let (posts, _) = drive(
        &mut agent,
        &mut store,
        &mut clock,
        Input::Timeout,
        &msgs[..1],
    );
    assert_eq!(posts, 2, "Inform and empty POST");
    let (posts, bytes) = drive(
        &mut agent,
        &mut store,
        &mut clock,
        Input::ConnectionRequest,
        &msgs,
    );
    assert_eq!(posts, 4, "Inform, empty POST, GPV response, SPV response");
    eprintln!("session: {n_params} parameters, {bytes} bytes posted by the CPE");

    let mut g = c.benchmark_group("session");
    g.bench_function("gpv_all_spv", |b| {
        b.iter(|| {
            black_box(drive(
                &mut agent,
                &mut store,
                &mut clock,
                Input::ConnectionRequest,
                &msgs,
            ))
        })
    });
    g.finish();
}

fn bench_week(c: &mut Criterion) {
    let mut g = c.benchmark_group("simulation");
    g.sample_size(10);
    g.bench_function("week_of_periodic_informs", |b| {
        b.iter(|| {
            let mut sim = Sim::with_conformance_store();
            sim.store
                .set_internal("Device.ManagementServer.PeriodicInformInterval", "60")
                .unwrap();
            sim.run_for(Duration::from_secs(7 * 86_400));
            assert_eq!(sim.acs.informs.len(), 10_081);
            black_box(sim.acs.informs.len())
        })
    });
    g.finish();
}

criterion_group!(benches, bench_session, bench_week);
criterion_main!(benches);
