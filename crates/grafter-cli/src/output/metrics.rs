//! `--metrics-addr`: the run's live figures in the Prometheus text format, for the
//! dashboards operators already have.
//!
//! The observer keeps the latest figures of each mapping; a small HTTP server (tiny_http,
//! on its own thread) renders them at `/metrics` on every scrape.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use anyhow::Context as _;
use grafter_engine::{MappingStats, MappingStatus, Observer};

/// Latest figures per mapping.
#[derive(Default)]
pub struct Metrics {
    mappings: Mutex<BTreeMap<String, MappingStats>>,
}

/// The running server; stops when dropped.
pub struct MetricsServer {
    server: Arc<tiny_http::Server>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl MetricsServer {
    /// Where it listens.
    pub fn address(&self) -> String {
        self.server.server_addr().to_string()
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Metrics {
    /// Starts serving at `addr`.
    pub fn serve(self: &Arc<Self>, addr: SocketAddr) -> anyhow::Result<MetricsServer> {
        let server = Arc::new(
            tiny_http::Server::http(addr)
                .map_err(|e| anyhow::anyhow!("{e}"))
                .with_context(|| format!("cannot serve metrics at {addr}"))?,
        );
        let thread = {
            let (server, metrics) = (Arc::clone(&server), Arc::clone(self));
            std::thread::spawn(move || {
                for request in server.incoming_requests() {
                    let response = if request.url() == "/metrics" {
                        let header =
                            tiny_http::Header::from_bytes("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
                                .expect("static header");
                        tiny_http::Response::from_string(metrics.render()).with_header(header)
                    } else {
                        tiny_http::Response::from_string("grafter serves /metrics\n").with_status_code(404)
                    };
                    let _ = request.respond(response);
                }
            })
        };
        Ok(MetricsServer { server, thread: Some(thread) })
    }

    fn update(&self, stats: &MappingStats) {
        self.mappings.lock().expect("metrics").insert(stats.mapping.clone(), stats.clone());
    }

    /// The figures in the Prometheus text exposition format.
    pub fn render(&self) -> String {
        let mappings = self.mappings.lock().expect("metrics");
        let mut out = String::new();
        let mut family = |name: &str, kind: &str, help: &str, value: &dyn Fn(&MappingStats) -> Option<f64>| {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} {kind}");
            for stats in mappings.values() {
                if let Some(v) = value(stats) {
                    let _ =
                        writeln!(out, "{name}{{mapping=\"{}\",kind=\"{}\"}} {v}", escape(&stats.mapping), stats.kind);
                }
            }
        };
        family("grafter_rows_read_total", "counter", "Rows read from the source.", &|s| Some(s.read as f64));
        family("grafter_rows_written_total", "counter", "Rows written to the target.", &|s| Some(s.written as f64));
        family("grafter_rows_rejected_total", "counter", "Rows rejected (see the reject file).", &|s| {
            Some(s.rejected as f64)
        });
        family("grafter_rows_per_second", "gauge", "Rows read per second by this attempt.", &|s| {
            Some(s.rows_per_second())
        });
        family("grafter_source_rows", "gauge", "Rows the source holds for the mapping, when counted.", &|s| {
            s.total.map(|t| t as f64)
        });
        family("grafter_lag_rows", "gauge", "Source rows not read yet.", &|s| {
            s.total.map(|t| t.saturating_sub(s.read) as f64)
        });
        family("grafter_mapping_done", "gauge", "1 once the mapping has read to the end.", &|s| {
            Some(f64::from(u8::from(matches!(
                s.status,
                MappingStatus::Done | MappingStatus::DoneEarlier | MappingStatus::NothingToDo
            ))))
        });
        out
    }
}

/// Escapes a label value: backslash, double quote and newline.
fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

impl Observer for Metrics {
    fn message(&self, _: &str) {}

    fn mapping_started(&self, stats: &MappingStats) {
        self.update(stats);
    }

    fn total_known(&self, stats: &MappingStats) {
        self.update(stats);
    }

    fn batch_written(&self, stats: &MappingStats) {
        self.update(stats);
    }

    fn mapping_finished(&self, stats: &MappingStats) {
        self.update(stats);
    }
}
