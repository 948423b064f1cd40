//! The deployment tree in docker/ holds together: Compose accepts its file,
//! the Dockerfile builds and ships what the workspace defines, every name the
//! Kubernetes manifests refer to exists, every setting they make is one the
//! binaries read, and the dashboard asks only for metrics the binaries export.
//!
//! The Compose test runs `docker-compose config` (Debian's docker-compose
//! 1.29; scripts/test.sh installs it): without it that test fails, it never
//! skips.

#[path = "deploy/dockerfile.rs"]
mod dockerfile;
#[path = "deploy/k8s.rs"]
mod k8s;

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
    process::Command,
};

use dockerfile::{Copy, Dockerfile};
use k8s::{Kustomization, id, s, seq, string_map, yaml_docs};
use mindwell_shared::jobs::{AnalyzeCheckin, GenerateSummary, Job, Maintenance};
use serde_yaml::Value;

/// Image target (and crate directory) of each binary, and the binary's name.
const BINARIES: [(&str, &str); 3] =
    [("api", "mindwell-api"), ("worker", "mindwell-worker"), ("scheduler", "mindwell-scheduler")];

const COMPOSE_SERVICES: [&str; 7] = ["api", "worker", "scheduler", "postgres", "redis", "prometheus", "grafana"];

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

/// Settings the deployment files make that something other than our code reads.
const READ_ELSEWHERE: &[&str] = &[
    // tracing-subscriber's EnvFilter::try_from_default_env.
    "RUST_LOG",
    // KEDA's redis trigger (addressFromEnv), which takes host:port, not a URL.
    "REDIS_ADDRESS",
];

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

/// The `name` under `[package]` and under each `[[bin]]` of a manifest, with
/// whether it has `src/main.rs`; a package's binaries.
fn package_bins(dir: &Path) -> (String, BTreeSet<String>) {
    let text = std::fs::read_to_string(dir.join("Cargo.toml")).expect("member Cargo.toml");
    let (mut section, mut package, mut bins) = (String::new(), String::new(), BTreeSet::new());
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            section = line.to_owned();
        } else if let Some(value) = line.strip_prefix("name").map(str::trim).and_then(|r| r.strip_prefix('=')) {
            let value = value.trim().trim_matches('"').to_owned();
            match section.as_str() {
                "[package]" => package = value,
                "[[bin]]" => {
                    bins.insert(value);
                }
                _ => {}
            }
        }
    }
    if dir.join("src/main.rs").is_file() {
        bins.insert(package.clone());
    }
    (package, bins)
}

/// Every workspace package and its binaries.
fn workspace_packages() -> BTreeMap<String, BTreeSet<String>> {
    let manifest = read("Cargo.toml");
    let members = manifest.split_once("members").and_then(|(_, r)| r.split_once(']')).expect("workspace members").0;
    members.split('"').skip(1).step_by(2).map(|member| package_bins(&root().join(member))).collect()
}

/// Environment variable names our code mentions as string literals.
fn names_the_code_reads() -> BTreeSet<String> {
    fn walk(dir: &Path, out: &mut BTreeSet<String>) {
        for entry in std::fs::read_dir(dir).expect("source dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).expect("source file");
                out.extend(text.split('"').skip(1).step_by(2).filter(|w| is_env_name(w)).map(str::to_owned));
            }
        }
    }
    let mut out = BTreeSet::new();
    for crate_dir in ["api", "worker", "scheduler", "shared"] {
        walk(&root().join(crate_dir).join("src"), &mut out);
    }
    out
}

fn is_env_name(w: &str) -> bool {
    w.len() > 2
        && w.contains('_')
        && w.starts_with(|c: char| c.is_ascii_uppercase())
        && w.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// The containers of a workload's pod template.
fn containers(obj: &Value) -> &[Value] {
    seq(&obj["spec"]["template"]["spec"]["containers"])
}

fn of_kind<'a>(objects: &'a [Value], kind: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
    objects.iter().filter(move |o| s(&o["kind"]) == kind)
}

fn subset(small: &BTreeMap<String, String>, big: &BTreeMap<String, String>) -> bool {
    !small.is_empty() && small.iter().all(|(k, v)| big.get(k) == Some(v))
}

/// `name -> keys` of ConfigMaps or Secrets.
type Keys = BTreeMap<String, BTreeSet<String>>;

/// Every ConfigMap and every Secret a kustomization defines, with their keys.
fn config_keys(k: &Kustomization, objects: &[Value]) -> (Keys, Keys) {
    let keys = |o: &Value, field: &str| -> BTreeSet<String> {
        o[field].as_mapping().map(|m| m.keys().map(|k| s(k).to_owned()).collect()).unwrap_or_default()
    };
    let mut maps = k.generated("configMapGenerator");
    let mut secrets = k.generated("secretGenerator");
    for o in of_kind(objects, "ConfigMap") {
        maps.entry(s(&o["metadata"]["name"]).to_owned()).or_default().extend(keys(o, "data"));
    }
    for o in of_kind(objects, "Secret") {
        let entry = secrets.entry(s(&o["metadata"]["name"]).to_owned()).or_default();
        entry.extend(keys(o, "data"));
        entry.extend(keys(o, "stringData"));
    }
    (maps, secrets)
}

#[test]
fn compose_accepts_the_file_and_defines_every_service() {
    let out = Command::new("docker-compose")
        .args(["-f", "docker/compose.yml", "config"])
        .current_dir(root())
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run docker-compose ({e}): install it with `apt-get install -y docker-compose` (scripts/test.sh does)")
        });
    assert!(out.status.success(), "docker-compose config failed:\n{}", String::from_utf8_lossy(&out.stderr));
    let config: Value = serde_yaml::from_slice(&out.stdout).expect("docker-compose config prints YAML");
    let services = config["services"].as_mapping().expect("services");
    for name in COMPOSE_SERVICES {
        assert!(services.contains_key(name), "compose.yml has no service {name}");
    }
    let worker = &config["services"]["worker"];
    assert!(worker["container_name"].is_null(), "worker has a container_name: `--scale worker=N` would fail");
    assert!(worker["ports"].is_null(), "worker publishes a port: `--scale worker=N` would fail");

    let dockerfile = dockerfile();
    for (name, service) in services {
        let name = s(name);
        let build = &service["build"];
        if !build.is_null() {
            assert_eq!(s(&build["dockerfile"]), "docker/Dockerfile", "{name}: built from docker/Dockerfile");
            let target = s(&build["target"]);
            assert!(dockerfile.stage(target).is_some(), "{name}: no Dockerfile stage {target:?}");
        }
        for volume in seq(&service["volumes"]) {
            let source = volume.as_str().map_or_else(|| s(&volume["source"]), |v| v.split(':').next().unwrap_or(""));
            if source.starts_with('/') {
                assert!(Path::new(source).exists(), "{name}: bind mount {source} does not exist");
            }
        }
    }
}

#[test]
fn the_dockerfile_builds_every_binary_into_a_non_root_runtime_image() {
    let root = root();
    let df = dockerfile();
    let packages = workspace_packages();
    let all_bins: BTreeSet<&str> = packages.values().flatten().map(String::as_str).collect();
    assert!(df.stages.iter().any(|s| s.base == "rust:1.95-bookworm"), "no rust:1.95-bookworm build stage");

    for (target, binary) in BINARIES {
        let stage = df.stage(target).unwrap_or_else(|| panic!("no Dockerfile stage {target}"));
        let (package, bins) = package_bins(&root.join(target));
        assert_eq!(package, binary, "{target}/Cargo.toml names another package");
        assert!(bins.contains(binary), "{target}/ builds no binary {binary}");
        let lineage = df.lineage(target);
        let image = &lineage.last().expect("a stage").base;
        assert_eq!(image, "debian:bookworm-slim", "{target}: runtime image");

        let entrypoint: Vec<String> = serde_json::from_str(df.effective(target, "ENTRYPOINT").unwrap_or("[]"))
            .unwrap_or_else(|e| panic!("{target}: ENTRYPOINT is not exec form: {e}"));
        let exe = entrypoint.first().and_then(|p| p.rsplit('/').next()).unwrap_or_default();
        assert_eq!(exe, binary, "{target}: ENTRYPOINT runs another binary");
        let copied = stage.all("COPY").map(Copy::parse).any(|c| c.from.is_some() && c.dest.ends_with(binary));
        assert!(copied, "{target}: does not copy {binary} from the build");

        let user = df.effective(target, "USER").unwrap_or_else(|| panic!("{target}: no USER: it would run as root"));
        let user = user.split(':').next().unwrap_or_default();
        assert!(user != "root" && user != "0", "{target}: runs as root");
        let health = df.effective(target, "HEALTHCHECK").unwrap_or_else(|| panic!("{target}: no HEALTHCHECK"));
        assert!(health.contains("/health"), "{target}: HEALTHCHECK does not ask /health");
    }

    for command in df.stages.iter().flat_map(|s| s.all("RUN")).flat_map(|run| run.split("&&")) {
        let words: Vec<&str> = command.split_whitespace().collect();
        for pair in words.windows(2).filter(|_| words.first() == Some(&"cargo")) {
            if pair[0] == "-p" {
                assert!(packages.contains_key(pair[1]), "RUN builds unknown package {}", pair[1]);
            }
        }
        for word in words.iter().filter_map(|w| w.strip_prefix("target/release/")) {
            assert!(all_bins.contains(word), "RUN copies unknown binary {word}");
        }
    }

    let ignored: Vec<String> = read(".dockerignore")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.contains('*'))
        .map(|l| l.trim_end_matches('/').to_owned())
        .collect();
    assert!(ignored.iter().any(|p| p == "target"), ".dockerignore must keep target/ out of the context");
    for stage in &df.stages {
        for copy in stage.all("COPY").map(Copy::parse).filter(|c| c.from.is_none()) {
            for source in &copy.sources {
                assert!(root.join(source).exists(), "stage {}: COPY {source}: no such path", stage.name);
                let path = source.trim_end_matches('/');
                let hidden = ignored.iter().find(|p| path == p.as_str() || path.starts_with(&format!("{p}/")));
                assert!(hidden.is_none(), "stage {}: COPY {source} is excluded by .dockerignore", stage.name);
                assert!(!path.starts_with("model-assets/training"), "COPY {source}: training stays out of images");
            }
        }
    }
}

#[test]
fn the_worker_image_carries_onnx_runtime_and_every_active_model() {
    let df = dockerfile();
    let env = df.env("worker");
    let script = read("scripts/fetch-onnxruntime.sh");
    let version = script
        .lines()
        .find_map(|l| l.strip_prefix("ORT_VERSION="))
        .map(|v| v.trim_matches('"'))
        .expect("ORT_VERSION in the fetch script");
    let dylib = env.get("ORT_DYLIB_PATH").expect("worker sets ORT_DYLIB_PATH");
    assert!(
        dylib.ends_with(&format!("libonnxruntime.so.{version}")),
        "ORT_DYLIB_PATH {dylib}: not ONNX Runtime {version}"
    );
    let copies: Vec<Copy> = df.stage("worker").expect("worker stage").all("COPY").map(Copy::parse).collect();
    assert!(copies.iter().any(|c| c.from.is_some() && &c.dest == dylib), "nothing is copied to ORT_DYLIB_PATH {dylib}");
    let runs_script = df.stages.iter().flat_map(|s| s.all("RUN")).any(|r| r.contains("scripts/fetch-onnxruntime.sh"));
    assert!(runs_script, "ONNX Runtime is not fetched with scripts/fetch-onnxruntime.sh");

    let model_dir = env.get("MINDWELL_MODEL_DIR").expect("worker sets MINDWELL_MODEL_DIR").trim_end_matches('/');
    let shipped = |source: &str| {
        copies.iter().any(|c| {
            c.from.is_none()
                && c.sources.iter().any(|s| s.trim_end_matches('/') == source)
                && c.dest.trim_end_matches('/') == format!("{model_dir}/{}", source.trim_start_matches("model-assets/"))
        })
    };
    assert!(shipped("model-assets/active.json"), "active.json is not in {model_dir}");
    let active: serde_json::Value = serde_json::from_str(&read("model-assets/active.json")).expect("active.json");
    for (model, version) in active.as_object().expect("active.json is an object") {
        let version = version.as_str().expect("version");
        assert!(
            shipped(&format!("model-assets/{model}")) || shipped(&format!("model-assets/{model}/{version}")),
            "model {model} {version} is not copied into {model_dir}"
        );
    }
}

#[test]
fn every_kubernetes_file_parses_and_each_kustomization_lists_only_existing_files() {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("k8s dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(&root().join("docker/k8s"), &mut files);
    assert!(!files.is_empty(), "no YAML under docker/k8s");
    for file in &files {
        for doc in yaml_docs(file) {
            assert!(
                !s(&doc["apiVersion"]).is_empty() && !s(&doc["kind"]).is_empty(),
                "{}: apiVersion/kind",
                file.display()
            );
            if s(&doc["kind"]) != "Kustomization" {
                assert!(!s(&doc["metadata"]["name"]).is_empty(), "{}: an object without a name", file.display());
            }
        }
    }
    for dir in files.iter().filter(|f| f.ends_with("kustomization.yaml")).filter_map(|f| f.parent()) {
        let k = Kustomization::load(dir);
        let listed: BTreeSet<PathBuf> = k.resources().into_iter().chain(k.patch_files()).collect();
        for path in &listed {
            assert!(path.exists(), "{}: lists {}, which does not exist", dir.display(), path.display());
        }
        for file in files.iter().filter(|f| f.parent() == Some(dir) && !f.ends_with("kustomization.yaml")) {
            assert!(listed.contains(file), "{} is in no kustomization's resources or patches", file.display());
        }
    }
}

#[test]
fn kubernetes_base_references_resolve() {
    let base = base();
    let objects = base.all_objects();
    let (maps, secrets) = config_keys(&base, &objects);
    let deployments: Vec<&Value> = of_kind(&objects, "Deployment").collect();
    for o in &objects {
        assert!(o["metadata"]["namespace"].is_null(), "{}: the base names no namespace", id(o));
    }

    for d in &deployments {
        let name = id(d);
        let pod_labels = string_map(&d["spec"]["template"]["metadata"]["labels"]);
        assert!(subset(&string_map(&d["spec"]["selector"]["matchLabels"]), &pod_labels), "{name}: selector");
        for c in containers(d) {
            let ports: BTreeSet<&str> = seq(&c["ports"]).iter().map(|p| s(&p["name"])).collect();
            for from in seq(&c["envFrom"]) {
                if let Some(cm) = from["configMapRef"]["name"].as_str() {
                    assert!(maps.contains_key(cm), "{name}: envFrom ConfigMap {cm} does not exist");
                }
                if let Some(secret) = from["secretRef"]["name"].as_str() {
                    assert!(secrets.contains_key(secret), "{name}: envFrom Secret {secret} does not exist");
                }
            }
            for env in seq(&c["env"]) {
                for (field, defined) in [("secretKeyRef", &secrets), ("configMapKeyRef", &maps)] {
                    let r = &env["valueFrom"][field];
                    if r.is_null() {
                        continue;
                    }
                    let (source, key) = (s(&r["name"]), s(&r["key"]));
                    let keys = defined.get(source).unwrap_or_else(|| panic!("{name}: {field} {source} does not exist"));
                    assert!(r["optional"] == Value::Bool(true) || keys.contains(key), "{name}: {source} has no {key}");
                }
            }
            for probe in ["startupProbe", "readinessProbe", "livenessProbe"] {
                if let Some(port) = c[probe]["httpGet"]["port"].as_str() {
                    assert!(ports.contains(port), "{name}: {probe} uses unknown port {port}");
                }
            }
        }
    }
    let selects = |sel: &BTreeMap<String, String>| -> Vec<String> {
        deployments
            .iter()
            .filter(|d| subset(sel, &string_map(&d["spec"]["template"]["metadata"]["labels"])))
            .map(|d| s(&d["metadata"]["name"]).to_owned())
            .collect()
    };
    for svc in of_kind(&objects, "Service") {
        let targets = selects(&string_map(&svc["spec"]["selector"]));
        assert_eq!(targets.len(), 1, "{}: selects {targets:?}", id(svc));
        let d = deployments.iter().find(|d| s(&d["metadata"]["name"]) == targets[0]).expect("deployment");
        for port in seq(&svc["spec"]["ports"]).iter().filter_map(|p| p["targetPort"].as_str()) {
            let named = containers(d).iter().flat_map(|c| seq(&c["ports"])).any(|p| s(&p["name"]) == port);
            assert!(named, "{}: targetPort {port} is no container port of {}", id(svc), targets[0]);
        }
    }
    let mut guarded = BTreeSet::new();
    for pdb in of_kind(&objects, "PodDisruptionBudget") {
        let targets = selects(&string_map(&pdb["spec"]["selector"]["matchLabels"]));
        assert_eq!(targets.len(), 1, "{}: selects {targets:?}", id(pdb));
        guarded.extend(targets);
    }
    for name in ["mindwell-api", "mindwell-worker"] {
        assert!(guarded.contains(name), "no PodDisruptionBudget for {name}");
    }

    let auths: Vec<&Value> = of_kind(&objects, "TriggerAuthentication").collect();
    for auth in &auths {
        for r in seq(&auth["spec"]["secretTargetRef"]) {
            let (secret, key) = (s(&r["name"]), s(&r["key"]));
            let keys = secrets.get(secret).unwrap_or_else(|| panic!("{}: Secret {secret} does not exist", id(auth)));
            assert!(keys.contains(key), "{}: Secret {secret} has no {key}", id(auth));
        }
    }
    for so in of_kind(&objects, "ScaledObject") {
        let target = &so["spec"]["scaleTargetRef"];
        assert!(matches!(s(&target["kind"]), "" | "Deployment"), "{}: scales a Deployment", id(so));
        let d = deployments
            .iter()
            .find(|d| s(&d["metadata"]["name"]) == s(&target["name"]))
            .unwrap_or_else(|| panic!("{}: no Deployment {}", id(so), s(&target["name"])));
        for trigger in seq(&so["spec"]["triggers"]) {
            if let Some(auth) = trigger["authenticationRef"]["name"].as_str() {
                assert!(
                    auths.iter().any(|a| s(&a["metadata"]["name"]) == auth),
                    "{}: no TriggerAuthentication {auth}",
                    id(so)
                );
            }
            if let Some(var) = trigger["metadata"]["addressFromEnv"].as_str() {
                let set = containers(d).iter().any(|c| {
                    seq(&c["env"]).iter().any(|e| s(&e["name"]) == var)
                        || seq(&c["envFrom"])
                            .iter()
                            .any(|f| maps.get(s(&f["configMapRef"]["name"])).is_some_and(|keys| keys.contains(var)))
                });
                assert!(set, "{}: {var} is not in {}'s environment", id(so), id(d));
            }
        }
    }
}

#[test]
fn every_deployment_has_probes_limits_and_runs_as_non_root() {
    let objects = base().all_objects();
    let names: BTreeSet<&str> = of_kind(&objects, "Deployment").map(|d| s(&d["metadata"]["name"])).collect();
    for (_, binary) in BINARIES {
        assert!(names.contains(binary), "no Deployment {binary}");
    }
    assert_eq!(of_kind(&objects, "CronJob").count(), 0, "the scheduler is a Deployment, not a CronJob");
    for d in of_kind(&objects, "Deployment") {
        let name = id(d);
        let pod = &d["spec"]["template"]["spec"];
        assert_eq!(pod["securityContext"]["runAsNonRoot"], Value::Bool(true), "{name}: runAsNonRoot");
        assert_ne!(pod["securityContext"]["runAsUser"].as_u64(), Some(0), "{name}: runAsUser 0");
        for c in containers(d) {
            let image = s(&c["image"]);
            assert!(BINARIES.iter().any(|(_, b)| *b == image), "{name}: image {image} is none of ours");
            assert_eq!(s(&c["readinessProbe"]["httpGet"]["path"]), "/health/ready", "{name}: readiness probe");
            assert_eq!(s(&c["livenessProbe"]["httpGet"]["path"]), "/health", "{name}: liveness probe");
            for (what, resource) in
                [("limits", "cpu"), ("limits", "memory"), ("requests", "cpu"), ("requests", "memory")]
            {
                assert!(!c["resources"][what][resource].is_null(), "{name}: no {what}.{resource}");
            }
            assert_eq!(
                c["securityContext"]["allowPrivilegeEscalation"],
                Value::Bool(false),
                "{name}: privilege escalation"
            );
        }
    }
    let scheduler = of_kind(&objects, "Deployment").find(|d| s(&d["metadata"]["name"]) == "mindwell-scheduler");
    assert_eq!(
        scheduler.and_then(|d| d["spec"]["replicas"].as_u64()),
        Some(2),
        "two scheduler replicas share the lease"
    );
}

#[test]
fn keda_scales_the_worker_on_the_analysis_queue_list() {
    let base = base();
    let objects = base.all_objects();
    let ns = base.literals("configMapGenerator", "mindwell-config").get("MINDWELL_NAMESPACE").cloned();
    let ns = ns.unwrap_or_else(|| "mindwell".into());
    let list = |queue: &str| format!("{ns}:{queue}:active");
    let queues = [list(AnalyzeCheckin::QUEUE), list(GenerateSummary::QUEUE), list(Maintenance::QUEUE)];

    let so = of_kind(&objects, "ScaledObject").next().expect("a ScaledObject");
    assert_eq!(s(&so["spec"]["scaleTargetRef"]["name"]), "mindwell-worker");
    // Jobs reach `:active` only through a running worker (pushes land in `:scheduled`).
    assert!(so["spec"]["minReplicaCount"].as_u64().is_some_and(|n| n >= 1), "minReplicaCount must be at least 1");
    let lists: Vec<&str> = seq(&so["spec"]["triggers"])
        .iter()
        .filter(|t| s(&t["type"]) == "redis")
        .map(|t| s(&t["metadata"]["listName"]))
        .collect();
    assert!(lists.contains(&queues[0].as_str()), "no redis trigger on {}: {lists:?}", queues[0]);
    for l in &lists {
        assert!(queues.iter().any(|q| q == l), "trigger on {l}, which is no queue's ready list");
    }
    let worker = of_kind(&objects, "Deployment").find(|d| s(&d["metadata"]["name"]) == "mindwell-worker");
    assert!(
        worker.is_some_and(|d| d["spec"]["replicas"].is_null()),
        "the ScaledObject, not the Deployment, sets replicas"
    );
}

#[test]
fn the_production_overlay_patches_only_what_the_base_defines() {
    let base = base();
    let overlay = production();
    assert!(!s(&overlay.doc["namespace"]).is_empty(), "the overlay sets a namespace");
    assert!(overlay.resources().iter().any(|p| p.is_dir()), "the overlay builds on the base");
    let objects = base.all_objects();
    let ids: BTreeSet<String> = objects.iter().map(id).collect();
    for file in overlay.patch_files() {
        for patch in yaml_docs(&file) {
            assert!(ids.contains(&id(&patch)), "{}: patches {}, which the base lacks", file.display(), id(&patch));
        }
    }
    let images: BTreeSet<&str> = objects.iter().flat_map(containers).map(|c| s(&c["image"])).collect();
    for image in seq(&overlay.doc["images"]) {
        assert!(images.contains(s(&image["name"])), "images: {} is no container's image", s(&image["name"]));
    }
    let (maps, secrets) = config_keys(&base, &objects);
    for (generator, defined) in [("configMapGenerator", &maps), ("secretGenerator", &secrets)] {
        for g in seq(&overlay.doc[generator]).iter().filter(|g| matches!(s(&g["behavior"]), "merge" | "replace")) {
            assert!(defined.contains_key(s(&g["name"])), "{generator}: {} is not in the base", s(&g["name"]));
        }
    }
}

#[test]
fn every_setting_the_deployment_files_make_is_one_the_binaries_read() {
    let mut known = names_the_code_reads();
    known.extend(READ_ELSEWHERE.iter().map(|n| (*n).to_owned()));
    let mut set: Vec<(String, String)> = Vec::new();

    let compose = compose_file();
    for service in ["migrate", "api", "worker", "scheduler"] {
        let env = compose["services"][service]["environment"].as_mapping().expect("service environment");
        set.extend(env.keys().map(|k| (format!("compose.yml {service}"), s(k).to_owned())));
    }
    let df = dockerfile();
    for (target, _) in BINARIES {
        set.extend(df.env(target).into_keys().map(|k| (format!("Dockerfile {target}"), k)));
    }
    for k in [base(), production()] {
        let label = k.dir.display().to_string();
        set.extend(k.generated("configMapGenerator").into_values().flatten().map(|key| (label.clone(), key)));
        for c in k.own_objects().iter().flat_map(containers) {
            set.extend(seq(&c["env"]).iter().map(|e| (label.clone(), s(&e["name"]).to_owned())));
        }
    }
    for (source, name) in set {
        assert!(known.contains(&name), "{source} sets {name}, which no binary reads");
    }
}

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
