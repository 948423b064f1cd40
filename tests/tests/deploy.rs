//! The deployment tree in docker/ holds together: Compose accepts its file,
//! the Dockerfile builds and ships what the workspace defines, every name the
//! Kubernetes manifests refer to exists, every setting they make is one the
//! binaries read, and the dashboard asks only for metrics the binaries export.
//!
//! The Compose test runs `docker-compose config` (Debian's docker-compose
//! 1.29; scripts/test.sh installs it): without it that test fails, it never
//! skips.
//!
//! The tests live in one module per part of the tree: `compose` (the Compose
//! file), `image` (the Dockerfile), `kubernetes` (the manifests), `settings`
//! (the environment the files set) and `monitoring` (Prometheus and Grafana);
//! `dockerfile` and `k8s` read the files they check.

#[path = "deploy/compose.rs"]
mod compose;
#[path = "deploy/dockerfile.rs"]
mod dockerfile;
#[path = "deploy/image.rs"]
mod image;
#[path = "deploy/k8s.rs"]
mod k8s;
#[path = "deploy/kubernetes.rs"]
mod kubernetes;
#[path = "deploy/monitoring.rs"]
mod monitoring;
#[path = "deploy/settings.rs"]
mod settings;

use std::path::PathBuf;

use dockerfile::Dockerfile;
use k8s::{Kustomization, seq};
use serde_yaml::Value;

/// Image target (and crate directory) of each binary, and the binary's name.
const BINARIES: [(&str, &str); 3] =
    [("api", "mindwell-api"), ("worker", "mindwell-worker"), ("scheduler", "mindwell-scheduler")];

fn root() -> PathBuf {
    mindwell_tests::repo_root().canonicalize().expect("repository root")
}

fn read(rel: &str) -> String {
    let path = root().join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn dockerfile() -> Dockerfile {
    Dockerfile::parse(&read("docker/Dockerfile"))
}

fn base() -> Kustomization {
    Kustomization::load(&root().join("docker/k8s/base"))
}

fn production() -> Kustomization {
    Kustomization::load(&root().join("docker/k8s/overlays/production"))
}

/// The compose file as written, YAML merge keys applied.
fn compose_file() -> Value {
    let mut doc: Value = serde_yaml::from_str(&read("docker/compose.yml")).expect("compose.yml parses");
    doc.apply_merge().expect("compose.yml merge keys");
    doc
}

/// The containers of a workload's pod template.
fn containers(obj: &Value) -> &[Value] {
    seq(&obj["spec"]["template"]["spec"]["containers"])
}
