//! `mindwell-worker models …`: the data scientist's commands.
//!
//! - `check [DIR]` validates a model folder (or every folder and `active.json`
//!   of a model directory) without starting a worker.
//! - `eval <model>/<version> --data FILE.csv` prints accuracy, macro-F1 and the
//!   confusion matrix.
//! - `compare <active> <candidate>` compares shadow and backfill runs.
//! - `backfill --model NAME --version V [--since DATE]` re-analyses past check-ins.
//! - `export --from DATE --to DATE --out FILE.csv|FILE.parquet` writes feature logs.

mod backfill;
mod check;
mod compare;
mod eval;
mod export;

use std::{collections::BTreeMap, path::PathBuf};

use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressStyle};

use crate::config::WorkerConfig;

pub const USAGE: &str = "usage: mindwell-worker [run]
       mindwell-worker models check [DIR]
       mindwell-worker models eval <model>/<version> --data FILE.csv [--output sentiment|emotions]
       mindwell-worker models compare <active> <candidate> [--purpose shadow|backfill]
       mindwell-worker models backfill --model NAME --version V [--since YYYY-MM-DD] [--rate N] [--wait]
       mindwell-worker models export --from YYYY-MM-DD --to YYYY-MM-DD --out FILE.csv|FILE.parquet";

/// Runs `models <args>`.
pub async fn main(args: &[String]) -> anyhow::Result<()> {
    let config = WorkerConfig::from_env()?;
    let (cmd, rest) = args.split_first().context(USAGE)?;
    let args = Args::parse(rest)?;
    match cmd.as_str() {
        "check" => check::run(&config, &args),
        "eval" => eval::run(&config, &args),
        "compare" => compare::run(&config, &args).await,
        "backfill" => backfill::run(&config, &args).await,
        "export" => export::run(&config, &args).await,
        other => bail!("unknown command models {other:?}\n{USAGE}"),
    }
}

/// Positional arguments and `--flag value` pairs (`--wait` takes none).
#[derive(Debug, Default)]
struct Args {
    positional: Vec<String>,
    flags: BTreeMap<String, String>,
}

impl Args {
    fn parse(args: &[String]) -> anyhow::Result<Self> {
        let mut out = Self::default();
        let mut it = args.iter();
        while let Some(a) = it.next() {
            if let Some(flag) = a.strip_prefix("--") {
                let value = if flag == "wait" {
                    String::new()
                } else {
                    it.next().with_context(|| format!("--{flag} needs a value\n{USAGE}"))?.clone()
                };
                out.flags.insert(flag.to_owned(), value);
            } else {
                out.positional.push(a.clone());
            }
        }
        Ok(out)
    }

    fn flag(&self, name: &str) -> Option<&str> {
        self.flags.get(name).map(String::as_str)
    }

    fn required(&self, name: &str) -> anyhow::Result<&str> {
        self.flag(name).with_context(|| format!("--{name} is required\n{USAGE}"))
    }

    fn date(&self, name: &str) -> anyhow::Result<Option<chrono::NaiveDate>> {
        self.flag(name).map(|d| d.parse().with_context(|| format!("--{name} {d}: use YYYY-MM-DD"))).transpose()
    }
}

/// `model/version` into its parts, checking the folder exists under the model directory.
fn model_version(config: &WorkerConfig, spec: &str) -> anyhow::Result<(String, String, PathBuf)> {
    let (model, version) = spec.split_once(['/', '@']).with_context(|| format!("{spec:?}: use <model>/<version>"))?;
    let dir = config.model_dir.join(model).join(version);
    if !dir.join("manifest.json").is_file() {
        bail!(
            "{}: no manifest.json (is {spec:?} a model and version under {}?)",
            dir.display(),
            config.model_dir.display()
        );
    }
    Ok((model.to_owned(), version.to_owned(), dir))
}

/// A progress bar on a terminal, hidden otherwise.
fn progress(len: u64, what: &str) -> ProgressBar {
    let bar = if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        ProgressBar::new(len)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({per_sec}, eta {eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message(what.to_owned());
    bar
}
