//! Prometheus scrapes every replica of every binary, and the Grafana dashboard
//! asks only for metrics the binaries export.

use std::collections::BTreeSet;

use serde_yaml::Value;

use crate::{
    compose_file,
    k8s::{s, seq},
    read,
};

/// Every metric the binaries export: name, labels, histogram or not.
const METRICS: &[(&str, &[&str], bool)] = &[
    ("mindwell_http_requests_total", &["method", "route", "status"], false),
    ("mindwell_http_request_duration_seconds", &["method", "route", "status"], true),
    ("mindwell_jobs_enqueued_total", &["job"], false),
    ("mindwell_jobs_total", &["job", "outcome"], false),
    ("mindwell_job_duration_seconds", &["job", "outcome"], true),
    ("mindwell_queue_depth", &["queue", "state"], false),
    ("mindwell_inference_duration_seconds", &["model", "version"], true),
    ("mindwell_inference_batch_size", &["model", "version"], true),
    ("mindwell_alerts_raised_total", &["type", "severity"], false),
    ("mindwell_db_pool_connections", &["state"], false),
    ("mindwell_redis_up", &[], false),
    ("mindwell_models_active", &["model", "version"], false),
    ("mindwell_model_load_failures_total", &["model"], false),
    ("mindwell_redis_fail_open_total", &["check"], false),
    ("mindwell_enqueue_failures_total", &["job"], false),
    ("mindwell_enqueue_retried_total", &["job"], false),
    ("mindwell_worker_loop_restarts_total", &["job"], false),
];

#[test]
fn prometheus_scrapes_every_replica_of_every_binary() {
    let config: Value = serde_yaml::from_str(&read("docker/prometheus/prometheus.yml")).expect("prometheus.yml");
    let jobs = seq(&config["scrape_configs"]);
    let scrapes = |host: &str, port: u64| {
        jobs.iter().find(|job| {
            seq(&job["static_configs"])
                .iter()
                .flat_map(|sc| seq(&sc["targets"]))
                .any(|t| s(t) == format!("{host}:{port}"))
                || seq(&job["dns_sd_configs"]).iter().any(|sd| {
                    sd["port"].as_u64() == Some(port)
                        && seq(&sd["names"]).iter().any(|n| s(n) == host || s(n) == format!("tasks.{host}"))
                })
        })
    };
    for (host, port) in [("api", 8080), ("worker", 9100), ("scheduler", 9100)] {
        let job = scrapes(host, port).unwrap_or_else(|| panic!("nothing scrapes {host}:{port}"));
        // Our `job` label (the job kind) must survive the scrape.
        assert_eq!(job["honor_labels"], Value::Bool(true), "{host}: honor_labels");
    }
    let worker = scrapes("worker", 9100).expect("worker job");
    assert!(seq(&worker["dns_sd_configs"]).iter().any(|sd| s(&sd["type"]) == "A"), "workers: DNS A discovery");
}

#[test]
fn the_dashboard_asks_only_for_metrics_the_binaries_export() {
    let dashboard: serde_json::Value =
        serde_json::from_str(&read("docker/grafana/dashboards/mindwell.json")).expect("dashboard JSON");
    let datasources: Value =
        serde_yaml::from_str(&read("docker/grafana/provisioning/datasources/prometheus.yml")).expect("datasources");
    let uid = s(&seq(&datasources["datasources"])[0]["uid"]).to_owned();
    let providers: Value = serde_yaml::from_str(&read("docker/grafana/provisioning/dashboards/mindwell.yml"))
        .expect("dashboard providers");
    let path = s(&seq(&providers["providers"])[0]["options"]["path"]).to_owned();
    let compose = compose_file();
    let mounted = seq(&compose["services"]["grafana"]["volumes"]).iter().any(|v| s(v).contains(&format!(":{path}")));
    assert!(mounted, "Grafana reads dashboards from {path}, which compose.yml does not mount");

    let mut exprs = Vec::new();
    let mut uids = Vec::new();
    collect(&dashboard, &mut exprs, &mut uids);
    assert!(!exprs.is_empty(), "the dashboard has no queries");
    assert!(uids.iter().all(|u| *u == uid), "panels use datasource uids {uids:?}, provisioned is {uid}");
    let mut used = BTreeSet::new();
    for expr in &exprs {
        let mut labels: BTreeSet<&str> = ["le", "instance"].into();
        let mut any = false;
        for token in
            expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).filter(|t| t.starts_with("mindwell_"))
        {
            let (name, metric_labels, _) = METRICS
                .iter()
                .find(|(name, _, histogram)| {
                    token == *name
                        || (*histogram && ["_bucket", "_sum", "_count"].iter().any(|x| token == format!("{name}{x}")))
                })
                .unwrap_or_else(|| panic!("{expr}: {token} is no metric the binaries export"));
            used.insert(*name);
            labels.extend(metric_labels.iter().copied());
            any = true;
        }
        assert!(any, "{expr}: asks for none of our metrics");
        for clause in expr.split(" by (").skip(1) {
            for label in clause.split(')').next().unwrap_or_default().split(',').map(str::trim) {
                assert!(labels.contains(label), "{expr}: groups by {label}, which its metrics do not carry");
            }
        }
    }
    for (name, _, _) in METRICS {
        assert!(used.contains(name), "no panel shows {name}");
    }

    fn collect<'a>(v: &'a serde_json::Value, exprs: &mut Vec<&'a str>, uids: &mut Vec<&'a str>) {
        match v {
            serde_json::Value::Object(map) => {
                if let Some(expr) = map.get("expr").and_then(serde_json::Value::as_str) {
                    exprs.push(expr);
                }
                if let Some(uid) = map.get("datasource").and_then(|d| d.get("uid")).and_then(serde_json::Value::as_str)
                {
                    uids.push(uid);
                }
                map.values().for_each(|v| collect(v, exprs, uids));
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| collect(v, exprs, uids)),
            _ => {}
        }
    }
}
