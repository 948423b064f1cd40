//! `docker-compose config` accepts docker/compose.yml, and its services build
//! from the Dockerfile's stages.

use std::{path::Path, process::Command};

use serde_yaml::Value;

use crate::{
    dockerfile,
    k8s::{s, seq},
    root,
};

const COMPOSE_SERVICES: [&str; 7] = ["api", "worker", "scheduler", "postgres", "redis", "prometheus", "grafana"];

/// The secrets compose.yml requires (`${VAR:?…}`): it has no published defaults.
const REQUIRED_SECRETS: [&str; 5] = [
    "POSTGRES_PASSWORD",
    "MINDWELL_JWT_SECRET",
    "MINDWELL_ADMIN_EMAIL",
    "MINDWELL_ADMIN_PASSWORD",
    "GRAFANA_ADMIN_PASSWORD",
];

/// `docker-compose config` with `secrets` set and every other required secret
/// unset, reading an empty env file (not a `docker/.env` someone left).
fn compose_config(secrets: &[&str]) -> std::process::Output {
    let env_file = std::env::temp_dir().join(format!("mindwell-compose-{}.env", uuid::Uuid::new_v4().simple()));
    std::fs::write(&env_file, "").expect("empty env file");
    let mut cmd = Command::new("docker-compose");
    cmd.arg("--env-file").arg(&env_file).args(["-f", "docker/compose.yml", "config"]).current_dir(root());
    for name in REQUIRED_SECRETS {
        if secrets.contains(&name) {
            cmd.env(name, format!("test-value-for-{}", name.to_lowercase()));
        } else {
            cmd.env_remove(name);
        }
    }
    let out = cmd.output().unwrap_or_else(|e| {
        panic!("cannot run docker-compose ({e}): install it with `apt-get install -y docker-compose` (scripts/test.sh does)")
    });
    let _ = std::fs::remove_file(env_file);
    out
}

#[test]
fn compose_refuses_to_run_without_each_required_secret() {
    for missing in REQUIRED_SECRETS {
        let others: Vec<&str> = REQUIRED_SECRETS.into_iter().filter(|n| *n != missing).collect();
        let out = compose_config(&others);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "docker-compose config ran without {missing}");
        assert!(stderr.contains(missing), "the error names {missing}: {stderr}");
    }
}

#[test]
fn compose_accepts_the_file_and_defines_every_service() {
    let out = compose_config(&REQUIRED_SECRETS);
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
