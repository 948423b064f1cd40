//! Encoder throughput on one thread, at batch 1 and batch 32 (`scripts/bench.sh`).
//!
//! Prints notes per second for short (~15 token) and long (~200 token) notes.

use std::{path::PathBuf, time::Instant};

use mindwell_worker::inference::{self, ActiveModels, Pipeline};

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
}
