//! What the fleet counts: sessions by outcome, latency, RPCs by method, connection requests,
//! per-phone failures; the progress line, the JSON summary and its HTML report.
//!
//! Latency is one session's duration on the CPE side, from its first POST to its end
//! (time spent waiting for a free session slot is not in it: that is the fleet's own
//! queue, not the ACS). Samples are kept (4 bytes each, at most [`MAX_SAMPLES`]; later ones
//! replace random earlier ones, a reservoir), so the percentiles are exact for runs up to
//! that many sessions.

use serde_json::json;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Latency samples kept for the percentiles.
pub const MAX_SAMPLES: usize = 4_000_000;
/// Phones listed in the summary's failure table.
const TOP_FAILURES: usize = 20;

/// How a session ended.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Outcome {
    /// Ended successfully.
    Ok,
    /// The last response had this HTTP status (not 200/204).
    HttpStatus(u16),
    /// No response in time.
    Timeout,
    /// The TCP connection was refused.
    ConnectionRefused,
    /// A SOAP fault from the ACS, or a message the CPE could not use.
    CwmpFault,
    /// Any other transport failure (reset, TLS, DNS, protocol).
    Transport,
    /// Cut short because the fleet is stopping.
    Stopped,
}

impl Outcome {
    /// The summary's key.
    pub fn key(&self) -> String {
        match self {
            Outcome::Ok => "ok".into(),
            Outcome::HttpStatus(s) => format!("http_{s}"),
            Outcome::Timeout => "timeout".into(),
            Outcome::ConnectionRefused => "connection_refused".into(),
            Outcome::CwmpFault => "cwmp_fault".into(),
            Outcome::Transport => "transport_error".into(),
            Outcome::Stopped => "stopped".into(),
        }
    }
}

#[derive(Debug, Default, Clone, Copy)]
struct Second {
    sessions: u64,
    failures: u64,
    latency_sum_us: u64,
    latency_max_us: u64,
}

#[derive(Debug, Default)]
struct Inner {
    outcomes: BTreeMap<Outcome, u64>,
    samples: Vec<u32>,
    seen: u64,
    max_us: u64,
    rpcs: BTreeMap<String, u64>,
    failures: HashMap<String, (u64, String)>,
    timeline: Vec<Second>,
    rng: u64,
    retries: u64,
    retries_early: u64,
    /// Sessions after a failure that a new event started before the retry wait ended.
    retries_cut_short: u64,
    retries_late: u64,
    /// The largest lateness beyond the window's end, and earliness before its start (ms).
    retry_max_late_ms: u64,
    retry_max_early_ms: u64,
}

/// The fleet's counters (shared by the scheduler, the workers and the listener).
#[derive(Debug)]
pub struct Stats {
    started: Instant,
    /// Phones started so far.
    pub booted: AtomicU64,
    /// Phones in this process.
    pub total: u64,
    /// Sessions and downloads in the hands of a worker now.
    pub in_flight: AtomicU64,
    /// Most ever in flight at once.
    pub max_in_flight: AtomicU64,
    /// Connection requests accepted (200) and handed to a phone.
    pub connection_requests: AtomicU64,
    /// Connection requests refused (401 after credentials, 404, 503 …).
    pub connection_requests_refused: AtomicU64,
    /// Downloads performed (successful or not).
    pub downloads: AtomicU64,
    /// Reboots and factory resets performed.
    pub reboots: AtomicU64,
    inner: Mutex<Inner>,
}

impl Stats {
    /// Counters for `total` phones, from now.
    pub fn new(total: u64) -> Stats {
        Stats {
            started: Instant::now(),
            booted: AtomicU64::new(0),
            total,
            in_flight: AtomicU64::new(0),
            max_in_flight: AtomicU64::new(0),
            connection_requests: AtomicU64::new(0),
            connection_requests_refused: AtomicU64::new(0),
            downloads: AtomicU64::new(0),
            reboots: AtomicU64::new(0),
            inner: Mutex::new(Inner {
                rng: 0x9E37_79B9_7F4A_7C15,
                ..Inner::default()
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A worker took a job.
    pub fn job_started(&self) {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
    }

    /// A worker finished a job.
    pub fn job_finished(&self) {
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
    }

    /// An RPC from the ACS (by the Body element's name).
    pub fn rpc(&self, method: &str) {
        let mut g = self.lock();
        if let Some(n) = g.rpcs.get_mut(method) {
            *n += 1;
        } else if g.rpcs.len() < 64 {
            g.rpcs.insert(method.to_owned(), 1);
        }
    }

    /// A session ended.
    pub fn session(&self, serial: &str, outcome: Outcome, latency: Option<Duration>, why: &str) {
        let second = self.started.elapsed().as_secs() as usize;
        let us = latency.map(|d| d.as_micros().min(u128::from(u32::MAX)) as u64);
        let mut g = self.lock();
        *g.outcomes.entry(outcome.clone()).or_default() += 1;
        if g.timeline.len() <= second {
            g.timeline.resize(second + 1, Second::default());
        }
        let s = &mut g.timeline[second];
        s.sessions += 1;
        if outcome != Outcome::Ok {
            s.failures += 1;
        }
        if let Some(us) = us {
            s.latency_sum_us += us;
            s.latency_max_us = s.latency_max_us.max(us);
            g.max_us = g.max_us.max(us);
            g.seen += 1;
            if g.samples.len() < MAX_SAMPLES {
                g.samples.push(us as u32);
            } else {
                // Reservoir sampling (xorshift; no OS randomness needed for statistics).
                g.rng ^= g.rng << 13;
                g.rng ^= g.rng >> 7;
                g.rng ^= g.rng << 17;
                let j = (g.rng % g.seen) as usize;
                if j < MAX_SAMPLES {
                    g.samples[j] = us as u32;
                }
            }
        }
        if outcome != Outcome::Ok && outcome != Outcome::Stopped {
            if let Some(e) = g.failures.get_mut(serial) {
                e.0 += 1;
                e.1 = why.chars().take(200).collect();
            } else if g.failures.len() < 100_000 {
                g.failures
                    .insert(serial.to_owned(), (1, why.chars().take(200).collect()));
            }
        }
    }

    /// A retry session started `gap` after the failed one; the TR-069 window is `lo..=hi`.
    /// A start within 1 s after `hi` counts as on time (the scheduler's and the session
    /// queue's own delay under load).
    pub fn retry(&self, gap: Duration, lo: Duration, hi: Duration) {
        let mut g = self.lock();
        g.retries += 1;
        if gap + Duration::from_millis(50) < lo {
            g.retries_early += 1;
            g.retry_max_early_ms = g.retry_max_early_ms.max((lo - gap).as_millis() as u64);
        } else if gap > hi + Duration::from_secs(1) {
            g.retries_late += 1;
        }
        if gap > hi {
            g.retry_max_late_ms = g.retry_max_late_ms.max((gap - hi).as_millis() as u64);
        }
    }

    /// A session after a failure started before the retry wait's end by a new event (a
    /// periodic inform, a connection request): not a retry timed by the back-off.
    pub fn retry_cut_short(&self) {
        self.lock().retries_cut_short += 1;
    }

    /// The one progress line.
    pub fn progress_line(&self, last: &mut (Instant, u64)) -> String {
        let g = self.lock();
        let total: u64 = g.outcomes.values().sum();
        let now = Instant::now();
        let dt = now.duration_since(last.0).as_secs_f64().max(1e-3);
        let rate = (total - last.1) as f64 / dt;
        *last = (now, total);
        let mut line = format!(
            "fleet: {}/{} booted, {:.1} sessions/s, {} in flight, {} ok",
            self.booted.load(Ordering::Relaxed),
            self.total,
            rate,
            self.in_flight.load(Ordering::Relaxed),
            g.outcomes.get(&Outcome::Ok).copied().unwrap_or(0),
        );
        let failures: Vec<String> = g
            .outcomes
            .iter()
            .filter(|(o, _)| **o != Outcome::Ok)
            .map(|(o, n)| format!("{} {n}", o.key()))
            .collect();
        if failures.is_empty() {
            line.push_str(", no failures");
        } else {
            let _ = write!(line, ", failures: {}", failures.join(", "));
        }
        line
    }

    /// The summary document.
    pub fn summary(&self, extra: serde_json::Value) -> serde_json::Value {
        let g = self.lock();
        let mut sorted = g.samples.clone();
        sorted.sort_unstable();
        let pct = |p: f64| -> Option<f64> {
            if sorted.is_empty() {
                return None;
            }
            let i = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
            Some(f64::from(sorted[i.min(sorted.len() - 1)]) / 1000.0)
        };
        let mut failures: Vec<(&String, &(u64, String))> = g.failures.iter().collect();
        failures.sort_by(|a, b| b.1 .0.cmp(&a.1 .0).then(a.0.cmp(b.0)));
        let top: Vec<serde_json::Value> = failures
            .iter()
            .take(TOP_FAILURES)
            .map(|(serial, (n, why))| json!({"serial": serial, "failures": n, "last": why}))
            .collect();
        let outcomes: serde_json::Map<String, serde_json::Value> = g
            .outcomes
            .iter()
            .map(|(o, n)| (o.key(), json!(n)))
            .collect();
        json!({
            "elapsed_seconds": self.started.elapsed().as_secs_f64(),
            "phones": self.total,
            "phones_booted": self.booted.load(Ordering::Relaxed),
            "sessions": g.outcomes.values().sum::<u64>(),
            "sessions_by_outcome": outcomes,
            "latency_ms": {
                "p50": pct(50.0), "p90": pct(90.0), "p99": pct(99.0),
                "max": (g.seen > 0).then(|| g.max_us as f64 / 1000.0),
                "samples": sorted.len(),
            },
            "rpcs_by_method": g.rpcs,
            "connection_requests_served": self.connection_requests.load(Ordering::Relaxed),
            "connection_requests_refused": self.connection_requests_refused.load(Ordering::Relaxed),
            "downloads": self.downloads.load(Ordering::Relaxed),
            "reboots": self.reboots.load(Ordering::Relaxed),
            "max_sessions_in_flight": self.max_in_flight.load(Ordering::Relaxed),
            "phones_with_failures": g.failures.len(),
            "retries": {
                "sessions": g.retries,
                "before_window": g.retries_early,
                "started_by_new_event": g.retries_cut_short,
                "after_window": g.retries_late,
                "max_ms_before_window": g.retry_max_early_ms,
                "max_ms_after_window": g.retry_max_late_ms,
            },
            "top_failures": top,
            "run": extra,
        })
    }

    /// The HTML report: the summary's figures and two inline SVG charts (sessions per
    /// second, mean and max latency per second). No script, no external resource.
    pub fn html(&self, summary: &serde_json::Value) -> String {
        let timeline = self.lock().timeline.clone();
        let sessions: Vec<f64> = timeline.iter().map(|s| s.sessions as f64).collect();
        let mean: Vec<f64> = timeline
            .iter()
            .map(|s| {
                if s.sessions == 0 {
                    0.0
                } else {
                    s.latency_sum_us as f64 / s.sessions as f64 / 1000.0
                }
            })
            .collect();
        let max: Vec<f64> = timeline
            .iter()
            .map(|s| s.latency_max_us as f64 / 1000.0)
            .collect();
        let pretty = serde_json::to_string_pretty(summary).unwrap_or_default();
        format!(
            "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>cpe-agent fleet report</title>\
             <style>body{{font-family:sans-serif;margin:2em}}svg{{border:1px solid #ccc}}\
             pre{{background:#f6f6f6;padding:1em}}</style></head><body>\n\
             <h1>cpe-agent fleet report</h1>\n<h2>Sessions per second</h2>\n{}\n\
             <h2>Session latency per second (ms; blue mean, red max)</h2>\n{}\n\
             <h2>Summary</h2>\n<pre>{}</pre>\n</body></html>\n",
            svg_chart(&[(&sessions, "#2a6")]),
            svg_chart(&[(&mean, "#36c"), (&max, "#c33")]),
            escape(&pretty)
        )
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A line chart of per-second series (x: seconds since start) as plain SVG.
fn svg_chart(series: &[(&Vec<f64>, &str)]) -> String {
    let (w, h, pad) = (800.0, 240.0, 40.0);
    let n = series
        .iter()
        .map(|(s, _)| s.len())
        .max()
        .unwrap_or(0)
        .max(2);
    let top = series
        .iter()
        .flat_map(|(s, _)| s.iter().copied())
        .fold(0.0f64, f64::max)
        .max(1e-9);
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" \
         viewBox=\"0 0 {w} {h}\">\n<line x1=\"{pad}\" y1=\"{y0}\" x2=\"{w}\" y2=\"{y0}\" stroke=\"#888\"/>\
         <line x1=\"{pad}\" y1=\"0\" x2=\"{pad}\" y2=\"{y0}\" stroke=\"#888\"/>\
         <text x=\"2\" y=\"12\" font-size=\"11\">{top:.1}</text>\
         <text x=\"2\" y=\"{y0}\" font-size=\"11\">0</text>\
         <text x=\"{xr}\" y=\"{yb}\" font-size=\"11\" text-anchor=\"end\">{secs} s</text>\n",
        y0 = h - pad / 2.0,
        xr = w - 2.0,
        yb = h - 2.0,
        secs = n - 1,
    );
    for (s, colour) in series {
        let mut points = String::new();
        for (i, v) in s.iter().enumerate() {
            let x = pad + (w - pad) * i as f64 / (n - 1) as f64;
            let y = (h - pad / 2.0) - (h - pad) * v / top;
            let _ = write!(points, "{x:.1},{y:.1} ");
        }
        let _ = writeln!(
            out,
            "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.5\" points=\"{points}\"/>"
        );
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_counts_and_percentiles() {
        let s = Stats::new(3);
        for ms in 1..=100u64 {
            s.session("A", Outcome::Ok, Some(Duration::from_millis(ms)), "");
        }
        s.session("B", Outcome::Timeout, None, "timed out");
        s.session("B", Outcome::HttpStatus(503), None, "503");
        s.rpc("GetParameterValues");
        let (lo, hi) = (Duration::from_secs(5), Duration::from_secs(10));
        s.retry(Duration::from_secs(7), lo, hi);
        s.retry(Duration::from_secs(1), lo, hi);
        s.retry(Duration::from_secs(12), lo, hi);
        let j = s.summary(json!({}));
        assert_eq!(j["retries"]["sessions"], 3);
        assert_eq!(j["retries"]["before_window"], 1);
        assert_eq!(j["retries"]["after_window"], 1);
        assert_eq!(j["retries"]["max_ms_after_window"], 2000);
        assert_eq!(j["sessions"], 102);
        assert_eq!(j["sessions_by_outcome"]["ok"], 100);
        assert_eq!(j["sessions_by_outcome"]["http_503"], 1);
        assert_eq!(j["latency_ms"]["max"], 100.0);
        assert_eq!(j["latency_ms"]["p50"], 51.0);
        assert_eq!(j["top_failures"][0]["serial"], "B");
        assert_eq!(j["top_failures"][0]["failures"], 2);
        assert_eq!(j["rpcs_by_method"]["GetParameterValues"], 1);
        let html = s.html(&j);
        assert!(html.contains("<svg") && html.contains("polyline") && !html.contains("http://cdn"));
    }
}
