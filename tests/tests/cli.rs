//! The three binaries' command lines, run as processes: help on every level,
//! versions, usage errors (exit 2, naming the bad argument), and all of it
//! before configuration, models or logging.

use std::process::{Command, Output};

use mindwell_tests::binary;

const BINARIES: [&str; 3] = ["mindwell-api", "mindwell-worker", "mindwell-scheduler"];

/// Every command path of every binary, as `--help` should show it.
const COMMANDS: &[(&str, &[&str])] = &[
    ("mindwell-api", &[]),
    ("mindwell-api", &["serve"]),
    ("mindwell-api", &["migrate"]),
    ("mindwell-worker", &[]),
    ("mindwell-worker", &["run"]),
    ("mindwell-worker", &["models"]),
    ("mindwell-worker", &["models", "check"]),
    ("mindwell-worker", &["models", "eval"]),
    ("mindwell-worker", &["models", "compare"]),
    ("mindwell-worker", &["models", "backfill"]),
    ("mindwell-worker", &["models", "export"]),
    ("mindwell-scheduler", &[]),
    ("mindwell-scheduler", &["run"]),
    ("mindwell-scheduler", &["run-once"]),
    ("mindwell-scheduler", &["run-once", "daily"]),
    ("mindwell-scheduler", &["run-once", "weekly"]),
];

/// Runs `name args` with no backends configured and the most talkative log
/// filter, so a log line written before parsing would show.
fn run(name: &str, args: &[&str]) -> Output {
    run_with(name, args, |_| {})
}

fn run_with(name: &str, args: &[&str], env: impl FnOnce(&mut Command)) -> Output {
    let mut command = Command::new(binary(name));
    command
        .args(args)
        .env_remove("DATABASE_URL")
        .env_remove("REDIS_URL")
        .env_remove("MINDWELL_ENV")
        .env_remove("SENTRY_DSN")
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env("RUST_LOG", "trace")
        .env("MINDWELL_DATA_DIR", std::env::temp_dir().join("mindwell-cli-test-never-created"))
        .env("ORT_DYLIB_PATH", "/nonexistent/libonnxruntime.so");
    env(&mut command);
    command.output().unwrap_or_else(|e| panic!("run {name}: {e}"))
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Neither stream has a log line (JSON, or a level) in it.
fn assert_no_log_line(out: &Output, what: &str) {
    for line in stdout(out).lines().chain(stderr(out).lines()) {
        let line = line.trim_start();
        assert!(
            !line.starts_with('{') && !line.contains("\"level\"") && !line.contains(" INFO "),
            "{what}: a log line before the usage: {line}"
        );
    }
}

/// A usage error: exit 2, nothing on stdout, and stderr starts with clap's
/// error (no log line first), names `culprit` and points to `--help`.
fn assert_usage_error(out: &Output, culprit: &str, what: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(2), "{what}: {err}");
    assert!(out.stdout.is_empty(), "{what}: stdout {}", stdout(out));
    assert!(err.starts_with("error:"), "{what}: stderr does not start with the error: {err}");
    assert!(err.contains(culprit), "{what}: stderr does not name {culprit:?}: {err}");
    assert!(err.contains("--help"), "{what}: no pointer to --help: {err}");
    assert_no_log_line(out, what);
}

#[test]
fn help_on_every_level_prints_usage_and_environment_on_stdout() {
    for (name, path) in COMMANDS {
        let args: Vec<&str> = path.iter().copied().chain(["--help"]).collect();
        let what = format!("{name} {}", args.join(" "));
        let out = run(name, &args);
        let text = stdout(&out);
        assert_eq!(out.status.code(), Some(0), "{what}: {}", stderr(&out));
        let usage = format!("Usage: {}", [*name].iter().chain(path.iter()).copied().collect::<Vec<_>>().join(" "));
        assert!(text.contains(&usage), "{what}: no {usage:?} in {text}");
        assert!(text.contains("Environment:"), "{what}: no environment section in {text}");
        assert!(out.stderr.is_empty(), "{what}: stderr {}", stderr(&out));
        assert_no_log_line(&out, &what);
    }
}

#[test]
fn nested_help_names_the_flags_and_variables_of_that_command() {
    let eval = stdout(&run("mindwell-worker", &["models", "eval", "--help"]));
    for expected in ["<MODEL/VERSION>", "--data <FILE.csv>", "--output", "MINDWELL_MODEL_DIR", "ORT_DYLIB_PATH"] {
        assert!(eval.contains(expected), "models eval --help lacks {expected:?}: {eval}");
    }
    let daily = stdout(&run("mindwell-scheduler", &["run-once", "daily", "--help"]));
    for expected in ["--date <YYYY-MM-DD>", "--user <ID>", "MINDWELL_RUN_ONCE_TIMEOUT_SECS", "DATABASE_URL"] {
        assert!(daily.contains(expected), "run-once daily --help lacks {expected:?}: {daily}");
    }
    let serve = stdout(&run("mindwell-api", &["serve", "--help"]));
    for expected in ["--with-worker", "MINDWELL_JWT_SECRET", "MINDWELL_BIND", "DATABASE_URL"] {
        assert!(serve.contains(expected), "serve --help lacks {expected:?}: {serve}");
    }
}

#[test]
fn version_prints_the_binary_and_its_version() {
    for name in BINARIES {
        let out = run(name, &["--version"]);
        assert_eq!(out.status.code(), Some(0), "{name} --version: {}", stderr(&out));
        assert_eq!(stdout(&out).trim(), format!("{name} {}", env!("CARGO_PKG_VERSION")));
        assert_no_log_line(&out, name);
    }
}

#[test]
fn an_unknown_subcommand_is_a_usage_error_that_names_it() {
    for name in BINARIES {
        assert_usage_error(&run(name, &["frobnicate"]), "'frobnicate'", name);
    }
    assert_usage_error(&run("mindwell-worker", &["models", "frobnicate"]), "'frobnicate'", "models frobnicate");
    assert_usage_error(&run("mindwell-scheduler", &["run-once", "hourly"]), "'hourly'", "run-once hourly");
}

#[test]
fn an_unknown_flag_is_a_usage_error_that_names_it() {
    for name in BINARIES {
        assert_usage_error(&run(name, &["--frobnicate"]), "'--frobnicate'", name);
    }
    let out = run("mindwell-scheduler", &["run-once", "daily", "--hour", "3"]);
    assert_usage_error(&out, "'--hour'", "run-once daily --hour");
    let out = run("mindwell-worker", &["models", "check", "--verbose"]);
    assert_usage_error(&out, "'--verbose'", "models check --verbose");
}

#[test]
fn a_malformed_value_is_a_usage_error_that_names_its_flag() {
    let out = run("mindwell-scheduler", &["run-once", "daily", "--date", "yesterday"]);
    assert_usage_error(&out, "--date", "run-once daily --date yesterday");
    let out = run("mindwell-scheduler", &["run-once", "weekly", "--user", "bob"]);
    assert_usage_error(&out, "--user", "run-once weekly --user bob");
    let out = run("mindwell-worker", &["models", "compare", "risk/1.0.0", "risk/1.0.1", "--purpose", "fun"]);
    assert_usage_error(&out, "--purpose", "models compare --purpose fun");
    let out = run("mindwell-worker", &["models", "backfill", "--model", "risk", "--version", "1", "--rate", "fast"]);
    assert_usage_error(&out, "--rate", "models backfill --rate fast");
}

#[test]
fn the_api_prints_its_help_in_production_without_a_database_url() {
    let out = run_with("mindwell-api", &["--help"], |c| {
        c.env("MINDWELL_ENV", "production");
    });
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("Usage: mindwell-api"), "{}", stdout(&out));
    assert_no_log_line(&out, "MINDWELL_ENV=production mindwell-api --help");
}

#[test]
fn models_eval_without_arguments_is_a_usage_error_not_an_onnx_runtime_error() {
    let out = run("mindwell-worker", &["models", "eval"]);
    assert_usage_error(&out, "<MODEL/VERSION>", "models eval");
    let err = stderr(&out);
    assert!(err.contains("--data <FILE.csv>"), "{err}");
    assert!(!err.to_lowercase().contains("onnx"), "{err}");
}

#[test]
fn the_api_takes_serve_flags_without_the_serve_command_but_not_beside_another_command() {
    let out = run("mindwell-api", &["--with-worker", "--help"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = run("mindwell-api", &["--with-worker", "migrate"]);
    assert_usage_error(&out, "migrate", "--with-worker migrate");
}
