//! `models export --from DATE --to DATE --out FILE.csv|FILE.parquet`: feature
//! logs for retraining — each completed analysis of a check-in in the range
//! (by check-in time, `--to` inclusive) with its features, model outputs and
//! the exact versions that made them.
//!
//! Privacy: no note text and no user id leave through this file (users appear
//! as a SHA-256 pseudonym, enough to group rows per person), and
//! users who deleted their data are gone from it: erasure deletes their rows.

use std::{
    collections::{BTreeSet, HashMap},
    fs::File,
    path::Path,
    sync::Arc,
};

use anyhow::{Context, bail};
use chrono::{Days, NaiveTime, TimeZone, Utc};
use mindwell_shared::{
    db,
    domain::AnalysisStatus,
    entities::{ai_analysis_results as analyses, daily_checkins as checkins, users},
};
use sea_orm::{
    ColumnTrait, EntityTrait, QueryFilter, QueryOrder,
    sea_query::{Expr, ExprTrait, Query},
};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::{Args, progress};
use crate::{config::WorkerConfig, inference::FEATURE_NAMES};

/// One column of the export: text or numbers.
enum Column {
    Text(String, Vec<Option<String>>),
    Number(String, Vec<Option<f64>>),
}

pub(super) async fn run(config: &WorkerConfig, args: &Args) -> anyhow::Result<()> {
    let from = args.date("from")?.context("--from is required")?;
    let to = args.date("to")?.context("--to is required")?;
    let out = Path::new(args.required("out")?);
    let format = match args.flag("format").or_else(|| out.extension().and_then(|e| e.to_str())) {
        Some("csv") => "csv",
        Some("parquet") => "parquet",
        other => bail!("--format {other:?}: use csv or parquet (or an --out ending in .csv or .parquet)"),
    };
    let db = db::connect(&config.backends.database, 2).await?;
    let start = Utc.from_utc_datetime(&from.and_time(NaiveTime::MIN));
    let end = Utc.from_utc_datetime(&to.checked_add_days(Days::new(1)).context("--to")?.and_time(NaiveTime::MIN));
    let in_range = Query::select()
        .column(checkins::Column::Id)
        .from(checkins::Entity)
        .and_where(checkins::Column::Timestamp.gte(start))
        .and_where(checkins::Column::Timestamp.lt(end))
        .and_where(
            Expr::col(checkins::Column::UserId)
                .in_subquery(Query::select().column(users::Column::Id).from(users::Entity).to_owned()),
        )
        .to_owned();
    let found: Vec<analyses::Model> = analyses::Entity::find()
        .filter(analyses::Column::Status.eq(AnalysisStatus::Completed))
        .filter(Expr::col(analyses::Column::CheckinId).in_subquery(in_range.clone()))
        .all(&db)
        .await
        .context("reading analyses")?;
    let mut by_checkin: HashMap<uuid::Uuid, analyses::Model> = found.into_iter().map(|a| (a.checkin_id, a)).collect();
    let rows: Vec<(checkins::Model, analyses::Model)> = checkins::Entity::find()
        .filter(Expr::col(checkins::Column::Id).in_subquery(in_range))
        .order_by_asc(checkins::Column::Timestamp)
        .all(&db)
        .await
        .context("reading check-ins")?
        .into_iter()
        .filter_map(|c| {
            let a = by_checkin.remove(&c.id)?;
            Some((c, a))
        })
        .collect();
    let bar = progress(rows.len() as u64, "rows");
    let columns = columns(&rows, &bar);
    bar.finish_and_clear();
    match format {
        "csv" => write_csv(out, &columns)?,
        _ => write_parquet(out, &columns)?,
    }
    println!("wrote {} rows, {} columns to {}", rows.len(), columns.len(), out.display());
    Ok(())
}

fn labels_of(rows: &[(checkins::Model, analyses::Model)], group: &str) -> BTreeSet<String> {
    rows.iter()
        .filter_map(|(_, a)| {
            a.raw_features.as_ref()?.get(group)?.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>())
        })
        .flatten()
        .collect()
}

fn columns(rows: &[(checkins::Model, analyses::Model)], bar: &indicatif::ProgressBar) -> Vec<Column> {
    let groups: Vec<(&str, BTreeSet<String>)> =
        ["sentiment", "emotions", "stress"].into_iter().map(|g| (g, labels_of(rows, g))).collect();
    let mut text: Vec<(String, Vec<Option<String>>)> =
        ["checkin_id", "user_key", "timestamp", "model_version", "sentiment_label", "stress_level"]
            .into_iter()
            .map(|n| (n.to_owned(), Vec::with_capacity(rows.len())))
            .collect();
    let mut numbers: Vec<(String, Vec<Option<f64>>)> = Vec::new();
    let mut number_names: Vec<String> = ["mood", "sleep_hours"].map(String::from).to_vec();
    number_names.extend(FEATURE_NAMES.iter().map(|f| format!("feature_{f}")));
    for (g, labels) in &groups {
        number_names.extend(labels.iter().map(|l| format!("{g}_{l}")));
    }
    number_names.extend(["valence", "risk_score", "confidence"].map(String::from));
    for n in number_names {
        numbers.push((n, Vec::with_capacity(rows.len())));
    }
    for (c, a) in rows {
        let raw = a.raw_features.clone().unwrap_or(Value::Null);
        let labels = a.labels.clone().unwrap_or(Value::Null);
        let user_key = hex::encode(&Sha256::digest(c.user_id.as_bytes())[..8]);
        let t = [
            Some(c.id.to_string()),
            Some(user_key),
            Some(c.timestamp.to_rfc3339()),
            a.model_version.clone(),
            labels["sentiment"]["label"].as_str().map(str::to_owned),
            labels["stress_level"].as_str().map(str::to_owned),
        ];
        for ((_, col), v) in text.iter_mut().zip(t) {
            col.push(v);
        }
        let mut n: Vec<Option<f64>> = vec![Some(f64::from(c.mood)), Some(c.sleep_hours)];
        n.extend(FEATURE_NAMES.iter().map(|f| raw["features"][f].as_f64()));
        for (g, ls) in &groups {
            n.extend(ls.iter().map(|l| raw[g][l].as_f64()));
        }
        n.extend([raw["valence"].as_f64(), labels["risk_score"].as_f64(), a.confidence]);
        for ((_, col), v) in numbers.iter_mut().zip(n) {
            col.push(v);
        }
        bar.inc(1);
    }
    text.into_iter()
        .map(|(n, v)| Column::Text(n, v))
        .chain(numbers.into_iter().map(|(n, v)| Column::Number(n, v)))
        .collect()
}

fn write_csv(out: &Path, columns: &[Column]) -> anyhow::Result<()> {
    let mut w = csv::Writer::from_path(out).with_context(|| format!("cannot write {}", out.display()))?;
    let name = |c: &Column| match c {
        Column::Text(n, _) | Column::Number(n, _) => n.clone(),
    };
    w.write_record(columns.iter().map(name))?;
    let len = columns.first().map_or(0, |c| match c {
        Column::Text(_, v) => v.len(),
        Column::Number(_, v) => v.len(),
    });
    for i in 0..len {
        w.write_record(columns.iter().map(|c| match c {
            Column::Text(_, v) => v[i].clone().unwrap_or_default(),
            Column::Number(_, v) => v[i].map(|x| x.to_string()).unwrap_or_default(),
        }))?;
    }
    w.flush()?;
    Ok(())
}

fn write_parquet(out: &Path, columns: &[Column]) -> anyhow::Result<()> {
    use parquet::{
        basic::Compression,
        data_type::{ByteArray, ByteArrayType, DoubleType},
        file::{properties::WriterProperties, writer::SerializedFileWriter},
        schema::parser::parse_message_type,
    };
    let fields: Vec<String> = columns
        .iter()
        .map(|c| match c {
            Column::Text(n, _) => format!("OPTIONAL BYTE_ARRAY {n} (UTF8);"),
            Column::Number(n, _) => format!("OPTIONAL DOUBLE {n};"),
        })
        .collect();
    let schema = Arc::new(parse_message_type(&format!("message feature_log {{ {} }}", fields.join(" ")))?);
    let props = Arc::new(WriterProperties::builder().set_compression(Compression::SNAPPY).build());
    let file = File::create(out).with_context(|| format!("cannot write {}", out.display()))?;
    let mut writer = SerializedFileWriter::new(file, schema, props)?;
    let mut group = writer.next_row_group()?;
    for column in columns {
        let mut col = group.next_column()?.context("parquet: fewer columns than the schema")?;
        match column {
            Column::Text(_, v) => {
                let defs: Vec<i16> = v.iter().map(|x| i16::from(x.is_some())).collect();
                let values: Vec<ByteArray> = v.iter().flatten().map(|s| ByteArray::from(s.as_str())).collect();
                col.typed::<ByteArrayType>().write_batch(&values, Some(&defs), None)?;
            }
            Column::Number(_, v) => {
                let defs: Vec<i16> = v.iter().map(|x| i16::from(x.is_some())).collect();
                let values: Vec<f64> = v.iter().flatten().copied().collect();
                col.typed::<DoubleType>().write_batch(&values, Some(&defs), None)?;
            }
        }
        col.close()?;
    }
    group.close()?;
    writer.close()?;
    Ok(())
}
