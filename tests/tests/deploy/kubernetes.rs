//! The Kubernetes manifests under docker/k8s: every file parses and is listed,
//! every name they refer to exists, every workload is probed, limited and
//! non-root, KEDA scales the worker on the right list, and the production
//! overlay patches only what the base defines.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
};

use mindwell_shared::jobs::{AnalyzeCheckin, GenerateSummary, Job, Maintenance};
use serde_yaml::Value;

use crate::{
    BINARIES, base, containers,
    k8s::{Kustomization, id, s, seq, string_map, yaml_docs},
    production, root,
};

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
