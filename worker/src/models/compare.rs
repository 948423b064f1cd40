//! `models compare <active> <candidate>`: how a candidate differs from the
//! version it ran beside (shadow runs) or replaced (backfill runs).
//!
//! A version is `<model>/<version>` (or `<model>@<version>`) or a whole
//! `encoder@v+text-heads@v+risk@v`.

use std::collections::BTreeMap;

use anyhow::{Context, bail};
use mindwell_shared::{db, entities::model_runs};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::Value;

use super::{Args, USAGE};
use crate::config::WorkerConfig;

fn pattern(spec: &str) -> String {
    match spec.split_once('/') {
        Some((model, version)) if !spec.contains('@') => format!("{model}@{version}"),
        _ => spec.to_owned(),
    }
}

pub(super) async fn run(config: &WorkerConfig, args: &Args) -> anyhow::Result<()> {
    let [active, candidate] = args.positional.as_slice() else { bail!(USAGE) };
    let (active, candidate) = (pattern(active), pattern(candidate));
    let db = db::connect(&config.backends.database, 2).await?;
    let mut query = model_runs::Entity::find().filter(model_runs::Column::ModelVersion.contains(&candidate));
    if let Some(purpose) = args.flag("purpose") {
        query = query.filter(model_runs::Column::Purpose.eq(purpose));
    }
    let rows: Vec<model_runs::Model> = query
        .all(&db)
        .await
        .context("reading model_runs")?
        .into_iter()
        .filter(|r| r.baseline_version.as_deref().is_some_and(|b| b.contains(&active)))
        .collect();
    print!("{}", report(&active, &candidate, &rows));
    Ok(())
}

/// The comparison as printed.
pub fn report(active: &str, candidate: &str, rows: &[model_runs::Model]) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let by_purpose = rows.iter().fold(BTreeMap::<&str, usize>::new(), |mut m, r| {
        *m.entry(r.purpose.as_str()).or_default() += 1;
        m
    });
    let _ = writeln!(out, "{active} (active) vs {candidate} (candidate): {} runs {by_purpose:?}", rows.len());
    if rows.is_empty() {
        let _ = writeln!(out, "nothing to compare: run a shadow (active.json \"shadow\") or a backfill first");
        return out;
    }
    let pairs: Vec<(&Value, &Value)> =
        rows.iter().filter_map(|r| Some((r.baseline_output.as_ref()?, &r.output))).collect();
    let agree = |f: &dyn Fn(&Value) -> Option<String>| {
        let same = pairs.iter().filter(|(a, c)| f(a).is_some() && f(a) == f(c)).count();
        #[expect(clippy::cast_precision_loss, reason = "counts")]
        let pct = 100.0 * same as f64 / pairs.len().max(1) as f64;
        pct
    };
    let sentiment = |v: &Value| v["labels"]["sentiment"]["label"].as_str().map(str::to_owned);
    let stress = |v: &Value| v["labels"]["stress_level"].as_str().map(str::to_owned);
    let emotion = |v: &Value| {
        v["emotions"]
            .as_object()?
            .iter()
            .max_by(|a, b| a.1.as_f64().partial_cmp(&b.1.as_f64()).unwrap_or(std::cmp::Ordering::Equal))
            .map(|(k, _)| k.clone())
    };
    let _ = writeln!(
        out,
        "agreement: sentiment {:.1}%, stress level {:.1}%, top emotion {:.1}%",
        agree(&sentiment),
        agree(&stress),
        agree(&emotion)
    );
    let _ = writeln!(out, "mean shift per label (candidate - active):");
    for group in ["sentiment", "emotions", "stress"] {
        let mut shifts: BTreeMap<String, (f64, usize)> = BTreeMap::new();
        for (a, c) in &pairs {
            let (Some(a), Some(c)) = (a[group].as_object(), c[group].as_object()) else { continue };
            for (label, cv) in c {
                if let (Some(cv), Some(av)) = (cv.as_f64(), a.get(label).and_then(Value::as_f64)) {
                    let e = shifts.entry(label.clone()).or_default();
                    e.0 += cv - av;
                    e.1 += 1;
                }
            }
        }
        for (label, (sum, n)) in shifts {
            #[expect(clippy::cast_precision_loss, reason = "counts")]
            let mean = sum / n as f64;
            let _ = writeln!(out, "  {group}.{label:<12} {mean:+.4}");
        }
    }
    let mut cand: Vec<f64> = rows.iter().map(|r| r.latency_ms).collect();
    let mut act: Vec<f64> = rows.iter().filter_map(|r| r.baseline_latency_ms).collect();
    let _ = writeln!(out, "latency ms: active {} | candidate {}", percentiles(&mut act), percentiles(&mut cand));
    out
}

fn percentiles(v: &mut [f64]) -> String {
    if v.is_empty() {
        return "n/a".into();
    }
    v.sort_by(f64::total_cmp);
    let at = |q: f64| {
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss,
            reason = "an index"
        )]
        let i = ((v.len() - 1) as f64 * q).round() as usize;
        v[i]
    };
    format!("p50 {:.1} p95 {:.1} (n {})", at(0.5), at(0.95), v.len())
}
