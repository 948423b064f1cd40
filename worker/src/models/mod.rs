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
use chrono::NaiveDate;
use clap::{
    Subcommand, ValueEnum,
    builder::{PossibleValuesParser, TypedValueParser},
};
use indicatif::{ProgressBar, ProgressStyle};
use mindwell_shared::domain::RunPurpose;

use crate::config::WorkerConfig;

/// Where a command whose arguments do not fit sends its user; clap checks
/// them before any command runs, so this is a last resort.
const USAGE: &str = "usage: mindwell-worker models --help";

/// What `check` and `eval` read (`worker/src/config.rs`).
const MODEL_ENV: &str = "Environment:
  MINDWELL_MODEL_DIR   model folders and active.json [default: model-assets]
  ORT_DYLIB_PATH       the ONNX Runtime library [default: .ort/libonnxruntime.so.1.31.1]";

/// What `compare` and `export` read (`shared/src/config.rs`).
const DATABASE_ENV: &str = "Environment:
  DATABASE_URL         PostgreSQL URL [default: SQLite in MINDWELL_DATA_DIR]
  MINDWELL_ENV         development (default) or production: DATABASE_URL is then required
  MINDWELL_DATA_DIR    folder of the embedded backends [default: .data]";

/// What `backfill` reads.
const BACKFILL_ENV: &str = "Environment:
  DATABASE_URL         PostgreSQL URL [default: SQLite in MINDWELL_DATA_DIR]
  REDIS_URL            Redis URL [default: SQLite job queue in MINDWELL_DATA_DIR]
  MINDWELL_ENV         development (default) or production: both URLs are then required
  MINDWELL_DATA_DIR    folder of the embedded backends [default: .data]
  MINDWELL_NAMESPACE   prefix of Redis keys and queue names [default: mindwell]
  MINDWELL_MODEL_DIR   model folders and active.json [default: model-assets]";

/// `mindwell-worker models <command>`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate a model folder, or every folder and active.json of a model directory
    #[command(after_help = MODEL_ENV)]
    Check {
        /// A model folder (with manifest.json) or a model directory (with active.json)
        /// [default: MINDWELL_MODEL_DIR]
        dir: Option<String>,
    },
    /// Print accuracy, macro-F1 and the confusion matrix of a version on labelled data
    #[command(after_help = MODEL_ENV)]
    Eval {
        /// The version to evaluate, under MINDWELL_MODEL_DIR (e.g. text-heads/1.0.0)
        #[arg(value_name = "MODEL/VERSION")]
        spec: String,
        /// Labelled rows: text,label (encoder, text-heads) or the nine features and label (risk)
        #[arg(long, value_name = "FILE.csv")]
        data: String,
        /// Which output the labels are of [default: sentiment if every label is one]
        #[arg(long)]
        output: Option<Output>,
    },
    /// Compare a candidate with the version it ran beside (shadow) or replaced (backfill)
    #[command(after_help = DATABASE_ENV)]
    Compare {
        /// The version the candidate is compared with (e.g. risk/1.0.0)
        active: String,
        /// The candidate version (e.g. risk/1.0.1)
        candidate: String,
        /// Only runs of this purpose [default: both]
        #[arg(long, value_parser = run_purpose())]
        purpose: Option<RunPurpose>,
    },
    /// Re-analyse past check-ins with one model's version, the others at their active versions
    #[command(after_help = BACKFILL_ENV)]
    Backfill {
        /// The model whose version changes (encoder, text-heads or risk)
        #[arg(long, value_name = "NAME")]
        model: String,
        /// Its version, a folder under MINDWELL_MODEL_DIR/NAME
        #[arg(long, value_name = "V")]
        version: String,
        /// Only check-ins from this day on
        #[arg(long, value_name = "YYYY-MM-DD")]
        since: Option<NaiveDate>,
        /// Most jobs enqueued per second [default: 50]
        #[arg(long, value_name = "N")]
        rate: Option<f64>,
        /// Pause while more than this many backfill jobs wait in the queue [default: 500]
        #[arg(long, value_name = "N")]
        max_pending: Option<u64>,
        /// Wait until every enqueued check-in is re-analysed
        #[arg(long)]
        wait: bool,
    },
    /// Write the feature logs of a date range (no note text, no user id) for retraining
    #[command(after_help = DATABASE_ENV)]
    Export {
        /// First day, by check-in time
        #[arg(long, value_name = "YYYY-MM-DD")]
        from: NaiveDate,
        /// Last day, inclusive
        #[arg(long, value_name = "YYYY-MM-DD")]
        to: NaiveDate,
        /// The file to write
        #[arg(long, value_name = "FILE.csv|FILE.parquet")]
        out: String,
        /// The file's format [default: from --out's extension]
        #[arg(long)]
        format: Option<Format>,
    },
}

/// `eval --output`: which head's labels the data has.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Output {
    Sentiment,
    Emotions,
}

/// `compare --purpose`: one of the shared [`RunPurpose`]s, which the help lists.
fn run_purpose() -> impl TypedValueParser<Value = RunPurpose> {
    PossibleValuesParser::new(RunPurpose::ALL.iter().map(|p| p.as_str())).try_map(|s| s.parse())
}

/// `export --format`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    Csv,
    Parquet,
}

/// Runs `models <command>`; the configuration is read only now, after the
/// command line has been parsed.
pub async fn main(command: Command) -> anyhow::Result<()> {
    let config = WorkerConfig::from_env()?;
    match command {
        Command::Check { dir } => check::run(&config, &Args::default().positional(dir)),
        Command::Eval { spec, data, output } => eval::run(
            &config,
            &Args::default().positional(Some(spec)).flag_value("data", Some(data)).choice("output", output),
        ),
        Command::Compare { active, candidate, purpose } => {
            let args =
                Args::default().positional(Some(active)).positional(Some(candidate)).flag_value("purpose", purpose);
            compare::run(&config, &args).await
        }
        Command::Backfill { model, version, since, rate, max_pending, wait } => {
            let args = Args::default()
                .flag_value("model", Some(model))
                .flag_value("version", Some(version))
                .flag_value("since", since)
                .flag_value("rate", rate)
                .flag_value("max-pending", max_pending)
                .flag_value("wait", wait.then_some(""));
            backfill::run(&config, &args).await
        }
        Command::Export { from, to, out, format } => {
            let args = Args::default()
                .flag_value("from", Some(from))
                .flag_value("to", Some(to))
                .flag_value("out", Some(out))
                .choice("format", format);
            export::run(&config, &args).await
        }
    }
}

/// The parsed arguments as the commands read them: positional arguments and
/// `--flag value` pairs (`--wait`'s value is empty), under their command-line
/// names. clap has checked and typed them already ([`Command`]); this keeps
/// the command files' reading of them as it was before clap.
#[derive(Debug, Default)]
struct Args {
    positional: Vec<String>,
    flags: BTreeMap<String, String>,
}

impl Args {
    fn positional(mut self, value: Option<String>) -> Self {
        self.positional.extend(value);
        self
    }

    fn flag_value(mut self, name: &str, value: Option<impl ToString>) -> Self {
        if let Some(value) = value {
            self.flags.insert(name.to_owned(), value.to_string());
        }
        self
    }

    /// A [`ValueEnum`] flag, under the name it has on the command line.
    fn choice(self, name: &str, value: Option<impl ValueEnum>) -> Self {
        let value = value.and_then(|v| v.to_possible_value()).map(|v| v.get_name().to_owned());
        self.flag_value(name, value)
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
