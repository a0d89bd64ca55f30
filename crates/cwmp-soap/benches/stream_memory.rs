//! Peak memory of writing a 100,000-entry GetParameterNamesResponse (a bench binary, not a
//! criterion bench: it measures the process's peak resident set, `VmHWM` in
//! `/proc/self/status`, on Linux).
//!
//! 1. Streamed with `write_get_parameter_names_response` from an iterator that makes each
//!    entry on the fly, into a byte-counting sink: the peak must not grow with the count.
//! 2. For contrast, the same response built as an `Envelope` and written to a `Vec`.
//!
//! Run: `cargo bench -p cwmp-soap --bench stream_memory`.

use cwmp_soap::*;
use std::io::{self, Write};

const ENTRIES: usize = 100_000;

fn vm_hwm_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// A sink that counts what it is given.
struct Count(u64);

impl Write for Count {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn entry(i: usize) -> ParameterInfoStruct {
    ParameterInfoStruct {
        name: format!("Device.X_Test.Table.{i}.SomeRatherLongParameterName"),
        writable: i % 2 == 0,
    }
}

fn main() {
    let Some(before) = vm_hwm_kib() else {
        println!("stream_memory: /proc/self/status not available; skipped");
        return;
    };
    let header = Header {
        id: Some("1".into()),
        ..Header::default()
    };
    let mut sink = Count(0);
    let start = std::time::Instant::now();
    write_get_parameter_names_response(
        &mut sink,
        CwmpNamespace::V1_2,
        &header,
        (0..ENTRIES).map(entry),
    )
    .unwrap();
    let elapsed = start.elapsed();
    let after_stream = vm_hwm_kib().unwrap_or(0);
    println!(
        "stream_memory: streamed GetParameterNamesResponse, {ENTRIES} entries, {} bytes in {:.1} ms: \
         peak RSS {before} KiB before, {after_stream} KiB after (+{} KiB)",
        sink.0,
        elapsed.as_secs_f64() * 1e3,
        after_stream.saturating_sub(before)
    );

    let env = Envelope::new(
        CwmpNamespace::V1_2,
        Body::GetParameterNamesResponse(GetParameterNamesResponse {
            parameter_list: (0..ENTRIES).map(entry).collect(),
        }),
    )
    .with_id("1");
    let bytes = to_vec(&env).unwrap();
    let after_vec = vm_hwm_kib().unwrap_or(0);
    assert_eq!(bytes.len() as u64, sink.0);
    println!(
        "stream_memory: same response built in memory (Envelope + Vec of {} bytes): \
         peak RSS {after_vec} KiB (+{} KiB over the streamed run)",
        bytes.len(),
        after_vec.saturating_sub(after_stream)
    );
}
