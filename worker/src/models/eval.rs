//! `models eval <model>/<version> --data FILE.csv`: accuracy, macro-F1 and the
//! confusion matrix of a model version on labelled data.
//!
//! For `encoder` and `text-heads` the CSV has columns `text,label` (labels of
//! the `sentiment` output, or of `emotions` with `--output emotions`); for
//! `risk`, the nine feature columns and `label` (a stress level).

use anyhow::{Context, bail};

use super::{Args, USAGE, model_version, progress};
use crate::{
    config::WorkerConfig,
    inference::{self, ActiveFile, ActiveModels, FEATURE_NAMES, Manifest, Pipeline},
};

const BATCH: usize = 32;

pub(super) fn run(config: &WorkerConfig, args: &Args) -> anyhow::Result<()> {
    inference::runtime(&config.ort_dylib)?;
    let spec = args.positional.first().context(USAGE)?;
    let (model, version, dir) = model_version(config, spec)?;
    let data = args.required("data")?;
    let mut versions = ActiveFile::read(&config.model_dir)?.versions;
    versions.extend(Manifest::load_verified(&dir)?.requires);
    versions.insert(model.clone(), version.clone());
    let mut pipeline = Pipeline::load_to_check(&ActiveModels::at(&config.model_dir, &versions)?, &model)?;

    let mut reader = csv::Reader::from_path(data).with_context(|| format!("cannot read {data}"))?;
    let headers = reader.headers().with_context(|| format!("{data}: no header row"))?.clone();
    let column = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .with_context(|| format!("{data}: no column {name:?} (header {headers:?})"))
    };
    let label_col = column("label")?;
    let rows: Vec<csv::StringRecord> =
        reader.records().collect::<Result<_, _>>().with_context(|| format!("{data}: malformed CSV"))?;
    if rows.is_empty() {
        bail!("{data}: no rows");
    }
    let gold: Vec<String> = rows.iter().map(|r| r.get(label_col).unwrap_or_default().trim().to_owned()).collect();
    let bar = progress(rows.len() as u64, &format!("{model}@{version}"));
    let (labels, predicted) = if model == "risk" {
        let cols = FEATURE_NAMES.iter().map(|f| column(f)).collect::<Result<Vec<_>, _>>()?;
        let labels = pipeline.manifests[2].labels("probabilities")?;
        let mut predicted = Vec::with_capacity(rows.len());
        for (n, chunk) in rows.chunks(BATCH).enumerate() {
            let mut features = Vec::with_capacity(chunk.len());
            for (i, row) in chunk.iter().enumerate() {
                let mut f = [0f32; 9];
                for (slot, &c) in f.iter_mut().zip(&cols) {
                    let raw = row.get(c).unwrap_or_default();
                    *slot = raw
                        .trim()
                        .parse()
                        .with_context(|| format!("row {}: {raw:?} is not a number", n * BATCH + i + 2))?;
                }
                features.push(f);
            }
            predicted.extend(pipeline.risk(&features)?.into_iter().map(|r| argmax(&r.levels)));
            bar.inc(chunk.len() as u64);
        }
        (labels, predicted)
    } else {
        let text_col = column("text")?;
        let output = match args.flag("output") {
            Some(o @ ("sentiment" | "emotions")) => o.to_owned(),
            Some(other) => bail!("--output {other}: use sentiment or emotions"),
            None => {
                let sentiment = pipeline.manifests[1].labels("sentiment")?;
                if gold.iter().all(|g| sentiment.contains(g)) { "sentiment".into() } else { "emotions".into() }
            }
        };
        let labels = pipeline.manifests[1].labels(&output)?;
        let mut predicted = Vec::with_capacity(rows.len());
        for chunk in rows.chunks(BATCH) {
            let texts: Vec<&str> = chunk.iter().map(|r| r.get(text_col).unwrap_or_default()).collect();
            for scores in pipeline.text_scores(&texts)? {
                predicted.push(argmax(if output == "sentiment" { &scores.sentiment } else { &scores.emotions }));
            }
            bar.inc(chunk.len() as u64);
        }
        (labels, predicted)
    };
    bar.finish_and_clear();
    if let Some((i, g)) = gold.iter().enumerate().find(|(_, g)| !labels.contains(g)) {
        bail!("row {}: label {g:?} is not one of {labels:?}", i + 2);
    }
    print!("{}", report(&format!("{model}@{version}"), &labels, &gold, &predicted));
    Ok(())
}

fn argmax(v: &[(String, f32)]) -> String {
    v.iter().max_by(|a, b| a.1.total_cmp(&b.1)).map(|(l, _)| l.clone()).unwrap_or_default()
}

/// Accuracy, per-class precision/recall/F1, macro-F1 (over the classes present
/// in the data or the predictions) and the confusion matrix (rows: truth).
pub fn report(title: &str, labels: &[String], gold: &[String], predicted: &[String]) -> String {
    use std::fmt::Write;
    let idx = |l: &str| labels.iter().position(|x| x == l);
    let k = labels.len();
    let mut m = vec![vec![0u64; k]; k];
    for (g, p) in gold.iter().zip(predicted) {
        if let (Some(g), Some(p)) = (idx(g), idx(p)) {
            m[g][p] += 1;
        }
    }
    let n: u64 = m.iter().flatten().sum();
    let correct: u64 = (0..k).map(|i| m[i][i]).sum();
    #[expect(clippy::cast_precision_loss, reason = "counts")]
    let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let mut out = String::new();
    let _ = writeln!(out, "{title}: {n} examples");
    let _ = writeln!(out, "accuracy  {:.4}", ratio(correct, n));
    let mut f1s = Vec::new();
    let _ = writeln!(out, "{:<12} {:>9} {:>9} {:>9} {:>8}", "class", "precision", "recall", "f1", "support");
    for i in 0..k {
        let tp = m[i][i];
        let predicted_i: u64 = (0..k).map(|r| m[r][i]).sum();
        let support: u64 = m[i].iter().sum();
        if support == 0 && predicted_i == 0 {
            continue;
        }
        let (p, r) = (ratio(tp, predicted_i), ratio(tp, support));
        let f1 = if p + r == 0.0 { 0.0 } else { 2.0 * p * r / (p + r) };
        f1s.push(f1);
        let _ = writeln!(out, "{:<12} {p:>9.4} {r:>9.4} {f1:>9.4} {support:>8}", labels[i]);
    }
    #[expect(clippy::cast_precision_loss, reason = "a handful of classes")]
    let macro_f1 = if f1s.is_empty() { 0.0 } else { f1s.iter().sum::<f64>() / f1s.len() as f64 };
    let _ = writeln!(out, "macro-F1  {macro_f1:.4}");
    let _ = writeln!(out, "confusion matrix (rows: label, columns: predicted)");
    let _ = write!(out, "{:<12}", "");
    for l in labels {
        let _ = write!(out, " {l:>9}");
    }
    let _ = writeln!(out);
    for (i, row) in m.iter().enumerate() {
        let _ = write!(out, "{:<12}", labels[i]);
        for v in row {
            let _ = write!(out, " {v:>9}");
        }
        let _ = writeln!(out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_counts_accuracy_macro_f1_and_the_confusion_matrix() {
        let labels: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
        let gold: Vec<String> = ["a", "a", "b", "b"].map(String::from).to_vec();
        let pred: Vec<String> = ["a", "b", "b", "b"].map(String::from).to_vec();
        let r = report("t", &labels, &gold, &pred);
        assert!(r.contains("accuracy  0.7500"), "{r}");
        // a: p 1, r .5, f1 .6667; b: p .6667, r 1, f1 .8; c absent: macro = .7333
        assert!(r.contains("macro-F1  0.7333"), "{r}");
        assert!(r.contains("a                    1         1         0"), "{r}");
    }
}
