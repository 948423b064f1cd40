//! Every environment variable Compose, the Dockerfile and the Kubernetes
//! manifests set is one the binaries read.

use std::{collections::BTreeSet, path::Path};

use crate::{
    BINARIES, base, compose_file, containers, dockerfile,
    k8s::{s, seq},
    production, root,
};

/// Settings the deployment files make that something other than our code reads.
const READ_ELSEWHERE: &[&str] = &[
    // tracing-subscriber's EnvFilter::try_from_default_env.
    "RUST_LOG",
    // KEDA's redis trigger (addressFromEnv), which takes host:port, not a URL.
    "REDIS_ADDRESS",
];

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
