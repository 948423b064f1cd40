//! Inference throughput (`scripts/bench.sh`): the encoder and text heads on one
//! thread (one core) at batch 1, 8 and 32 for short and long notes, then the
//! worker's dynamic batcher fed by 64 concurrent requests, with 1 and 2
//! pipelines (one per core).

use std::{path::PathBuf, time::Instant};

use futures::StreamExt;
use mindwell_worker::inference::{
    self, ActiveFile, ActiveModels, BatchConfig, Engine, ExecutionProvider, Pipeline, engine::EngineSettings,
};

const SHORT: &str = "Slept badly, feeling a bit anxious about work today.";

fn long_note() -> String {
    "Today started slowly; I woke up tired after a restless night and spent the morning catching up on emails. \
     Lunch with an old friend lifted my mood a lot, we laughed about our university days. The afternoon meeting \
     ran long and I felt my stress rising, but a short walk outside helped me reset before dinner with the family. "
        .repeat(2)
}

fn rate(p: &mut Pipeline, note: &str, batch: usize, notes: usize) -> f64 {
    let texts: Vec<&str> = std::iter::repeat_n(note, batch).collect();
    p.text_scores(&texts).expect("warm-up");
    let rounds = notes.div_ceil(batch);
    let started = Instant::now();
    for _ in 0..rounds {
        p.text_scores(&texts).expect("inference");
    }
    #[expect(clippy::cast_precision_loss, reason = "a count of notes")]
    let done = (rounds * batch) as f64;
    done / started.elapsed().as_secs_f64()
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let dylib =
        std::env::var("ORT_DYLIB_PATH").map_or_else(|_| root.join(".ort/libonnxruntime.so.1.31.1"), PathBuf::from);
    inference::runtime(&dylib).expect("ONNX Runtime");
    let active = ActiveModels::resolve(&root.join("model-assets")).expect("active models");
    let mut p = Pipeline::load(&active, 1).expect("load models");
    let long = long_note();
    let (_, tokens) = p.embed(&[SHORT, long.as_str()]).expect("embed");
    println!("encoder throughput, one intra-op thread ({})", p.version);
    println!("{:<28} {:>8} {:>12}", "notes", "batch", "notes/s");
    for (name, note, n) in [("short", SHORT, 640), ("long", long.as_str(), 128)] {
        for batch in [1, 8, 32] {
            let r = rate(&mut p, note, batch, n);
            println!(
                "{:<28} {batch:>8} {r:>12.1}",
                format!("{name} ({} tokens)", if name == "short" { tokens[0] } else { tokens[1] })
            );
        }
    }

    let model_dir = root.join("model-assets");
    let versions = ActiveFile::read(&model_dir).expect("active.json").versions;
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    println!("dynamic batcher (max batch 32, max wait 2 ms), 64 concurrent requests");
    println!("{:<28} {:>9} {:>12}", "notes", "pipelines", "notes/s");
    for (name, note, n) in [("short", SHORT, 4000), ("long", long.as_str(), 400)] {
        for pipelines in [1, 2] {
            let settings = EngineSettings {
                pipelines,
                threads_each: 1,
                provider: ExecutionProvider::Cpu,
                batch: BatchConfig::default(),
            };
            let rate = runtime.block_on(async {
                let engine = Engine::load(&model_dir, &versions, settings).await.expect("engine");
                engine.text(note.to_owned()).await.expect("warm-up");
                let started = Instant::now();
                futures::stream::iter(0..n)
                    .for_each_concurrent(64, |_| async { engine.text(note.to_owned()).await.map(drop).expect("text") })
                    .await;
                f64::from(n) / started.elapsed().as_secs_f64()
            });
            println!("{name:<28} {pipelines:>9} {rate:>12.1}");
        }
    }
}
