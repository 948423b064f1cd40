//! One session of each model and the arithmetic between them.
//!
//! Over 300 lines on purpose: the three models' pre- and post-processing
//! (tokenise, pool, normalise, softmax) read as one pipeline, and splitting it
//! would scatter the tensor shapes that must agree between steps.

use std::path::Path;

use ndarray::{Array2, ArrayView2, Axis};
use ort::{
    session::{Session, builder::GraphOptimizationLevel},
    value::TensorRef,
};
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

use super::{ActiveModels, Manifest, ModelError};

/// The risk model's input columns, in order.
pub const FEATURE_NAMES: [&str; 9] = [
    "mood",
    "sleep_hours",
    "mood_avg_7d",
    "mood_delta",
    "sleep_avg_7d",
    "checkins_7d",
    "sentiment_negative",
    "sentiment_positive",
    "valence",
];

/// What the text heads say about one note.
#[derive(Debug, Clone, PartialEq)]
pub struct TextScores {
    /// (label, probability) in the manifest's order: negative, neutral, positive.
    pub sentiment: Vec<(String, f32)>,
    /// -1 (very negative) ..= 1 (very positive).
    pub valence: f32,
    /// (emotion, probability).
    pub emotions: Vec<(String, f32)>,
    /// Tokens the encoder saw, special tokens included.
    pub tokens: usize,
}

impl TextScores {
    /// The probability of sentiment `label`.
    pub fn sentiment_of(&self, label: &str) -> f32 {
        self.sentiment.iter().find(|(l, _)| l == label).map_or(0.0, |(_, p)| *p)
    }
}

/// What the risk model says about one check-in.
#[derive(Debug, Clone, PartialEq)]
pub struct RiskScores {
    /// (stress level, probability): low, moderate, high.
    pub levels: Vec<(String, f32)>,
}

/// Where ONNX Runtime runs the models: the CPU (the default) or, where the
/// library and a GPU are there (`onnxruntime-gpu`), CUDA.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ExecutionProvider {
    #[default]
    Cpu,
    Cuda {
        device: i32,
    },
}

impl std::str::FromStr for ExecutionProvider {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "cpu" => Ok(Self::Cpu),
            "cuda" => Ok(Self::Cuda { device: 0 }),
            other => other
                .strip_prefix("cuda:")
                .and_then(|d| d.parse().ok())
                .map(|device| Self::Cuda { device })
                .ok_or_else(|| format!("{other:?} is not cpu, cuda or cuda:<device>")),
        }
    }
}

/// The encoder, the text heads and the risk model, one session each.
pub struct Pipeline {
    tokenizer: Tokenizer,
    encoder: Session,
    heads: Session,
    risk: Session,
    sentiment_labels: Vec<String>,
    emotion_labels: Vec<String>,
    stress_labels: Vec<String>,
    /// The three manifests, in [`super::MODEL_NAMES`] order.
    pub manifests: [Manifest; 3],
    /// `encoder@v+text-heads@v+risk@v`: what `model_version` records.
    pub version: String,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline").field("version", &self.version).finish_non_exhaustive()
    }
}

/// Opens `file` as a session, on `ep`, and checks it against its manifest.
pub(super) fn session(
    file: &Path,
    manifest: &Manifest,
    threads: usize,
    ep: ExecutionProvider,
) -> Result<Session, ModelError> {
    let env = super::ENVIRONMENT
        .get()
        .and_then(|r| r.as_ref().ok())
        .ok_or_else(|| ModelError::Runtime("ONNX Runtime is not loaded".into()))?;
    let mut builder = Session::builder(env)?
        .with_optimization_level(GraphOptimizationLevel::Level3)?
        .with_intra_threads(threads)?
        .with_inter_threads(1)?;
    if let ExecutionProvider::Cuda { device } = ep {
        builder = builder
            .with_execution_providers([ort::ep::CUDA::default().with_device_id(device).build().error_on_failure()])?;
    }
    let session = builder
        .commit_from_file(file)
        .map_err(|e| ModelError::Runtime(format!("{}: {}: {e}", manifest.id(), file.display())))?;
    manifest.check_graph(&session)?;
    Ok(session)
}

pub(super) fn model_file(dir: &Path, manifest: &Manifest) -> Result<std::path::PathBuf, ModelError> {
    manifest
        .files
        .keys()
        .find(|f| f.ends_with(".onnx"))
        .map(|f| dir.join(f))
        .ok_or_else(|| ModelError::Manifest(format!("{}: no .onnx file listed", manifest.name)))
}

impl Pipeline {
    /// Loads and verifies the active models; `threads` is ONNX Runtime's intra-op
    /// thread count for each session.
    pub fn load(active: &ActiveModels, threads: usize) -> Result<Self, ModelError> {
        Self::load_on(active, threads, ExecutionProvider::Cpu)
    }

    /// [`Pipeline::load`] on execution provider `ep`.
    pub fn load_on(active: &ActiveModels, threads: usize, ep: ExecutionProvider) -> Result<Self, ModelError> {
        Self::load_checking(active, threads, ep, None)
    }

    /// Loads a combination to check one model's golden examples: only model
    /// `only`'s `requires` must hold (its companions may have been built for
    /// another version of it).
    pub fn load_to_check(active: &ActiveModels, only: &str) -> Result<Self, ModelError> {
        Self::load_checking(active, 1, ExecutionProvider::Cpu, Some(only))
    }

    fn load_checking(
        active: &ActiveModels,
        threads: usize,
        ep: ExecutionProvider,
        only: Option<&str>,
    ) -> Result<Self, ModelError> {
        let enc_m = Manifest::load_verified(&active.encoder)?;
        let heads_m = Manifest::load_verified(&active.heads)?;
        let risk_m = Manifest::load_verified(&active.risk)?;
        for m in [&enc_m, &heads_m, &risk_m] {
            m.validate()?;
            if only.is_none_or(|name| name == m.name) {
                m.check_requires(&[&enc_m, &heads_m, &risk_m])?;
            }
        }

        let tok_file = active.encoder.join(enc_m.tokenizer.as_deref().unwrap_or("tokenizer.json"));
        let mut tokenizer = Tokenizer::from_file(&tok_file)
            .map_err(|e| ModelError::Tokenizer(format!("{}: {e}", tok_file.display())))?;
        tokenizer
            .with_padding(Some(PaddingParams { strategy: PaddingStrategy::BatchLongest, ..PaddingParams::default() }));
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: enc_m.max_length.unwrap_or(256),
                ..TruncationParams::default()
            }))
            .map_err(|e| ModelError::Tokenizer(e.to_string()))?;

        let encoder = session(&model_file(&active.encoder, &enc_m)?, &enc_m, threads, ep)?;
        let heads = session(&model_file(&active.heads, &heads_m)?, &heads_m, threads, ep)?;
        let risk = session(&model_file(&active.risk, &risk_m)?, &risk_m, threads, ep)?;

        Ok(Self {
            tokenizer,
            encoder,
            heads,
            risk,
            sentiment_labels: heads_m.labels("sentiment")?,
            emotion_labels: heads_m.labels("emotions")?,
            stress_labels: risk_m.labels("probabilities")?,
            version: format!("{}+{}+{}", enc_m.id(), heads_m.id(), risk_m.id()),
            manifests: [enc_m, heads_m, risk_m],
        })
    }

    /// Token ids of `text` as the encoder sees them (special tokens included).
    pub fn token_ids(&self, text: &str) -> Result<Vec<u32>, ModelError> {
        let enc = self.tokenizer.encode(text, true).map_err(|e| ModelError::Tokenizer(e.to_string()))?;
        Ok(enc.get_ids().to_vec())
    }

    /// The version of model `name` in this pipeline.
    pub fn version_of(&self, name: &str) -> Option<&str> {
        self.manifests.iter().find(|m| m.name == name).map(|m| m.version.as_str())
    }

    /// Mean-pooled, L2-normalised sentence embeddings, one row per text, and
    /// the number of real tokens of each.
    pub fn embed(&mut self, texts: &[&str]) -> Result<(Array2<f32>, Vec<usize>), ModelError> {
        let encodings =
            self.tokenizer.encode_batch(texts.to_vec(), true).map_err(|e| ModelError::Tokenizer(e.to_string()))?;
        let batch = encodings.len();
        let seq = encodings.iter().map(|e| e.get_ids().len()).max().unwrap_or(0);
        let mut ids = Array2::<i64>::zeros((batch, seq));
        let mut mask = Array2::<i64>::zeros((batch, seq));
        for (row, enc) in encodings.iter().enumerate() {
            for (col, (&id, &m)) in enc.get_ids().iter().zip(enc.get_attention_mask()).enumerate() {
                ids[[row, col]] = i64::from(id);
                mask[[row, col]] = i64::from(m);
            }
        }
        let types = Array2::<i64>::zeros((batch, seq));
        let outputs = self.encoder.run(ort::inputs![
            "input_ids" => TensorRef::from_array_view(&ids)?,
            "attention_mask" => TensorRef::from_array_view(&mask)?,
            "token_type_ids" => TensorRef::from_array_view(&types)?,
        ])?;
        let hidden = outputs["last_hidden_state"].try_extract_array::<f32>()?;
        let hidden = hidden
            .into_dimensionality::<ndarray::Ix3>()
            .map_err(|e| ModelError::Output(format!("last_hidden_state: {e}")))?;
        let dim = hidden.shape()[2];
        let mut pooled = Array2::<f32>::zeros((batch, dim));
        let mut lengths = Vec::with_capacity(batch);
        for row in 0..batch {
            let mut count = 0.0f32;
            for col in 0..seq {
                if mask[[row, col]] == 1 {
                    count += 1.0;
                    let token = hidden.index_axis(Axis(0), row);
                    let mut out = pooled.row_mut(row);
                    out += &token.row(col);
                }
            }
            let mut out = pooled.row_mut(row);
            out /= count.max(1.0);
            let norm = out.dot(&out).sqrt().max(1e-12);
            out /= norm;
            #[expect(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "a token count")]
            lengths.push(count as usize);
        }
        Ok((pooled, lengths))
    }

    /// Sentiment, valence and emotions of each text.
    pub fn text_scores(&mut self, texts: &[&str]) -> Result<Vec<TextScores>, ModelError> {
        let (embeddings, lengths) = self.embed(texts)?;
        self.heads_on(embeddings.view(), &lengths)
    }

    fn heads_on(&mut self, embeddings: ArrayView2<'_, f32>, lengths: &[usize]) -> Result<Vec<TextScores>, ModelError> {
        let outputs = self.heads.run(ort::inputs!["embedding" => TensorRef::from_array_view(embeddings)?])?;
        let sentiment = outputs["sentiment"].try_extract_array::<f32>()?;
        let valence = outputs["valence"].try_extract_array::<f32>()?;
        let emotions = outputs["emotions"].try_extract_array::<f32>()?;
        let rows = embeddings.nrows();
        let row =
            |a: &ndarray::ArrayViewD<'_, f32>, i: usize, labels: &[String]| -> Result<Vec<(String, f32)>, ModelError> {
                let r = a.index_axis(Axis(0), i);
                if r.len() != labels.len() {
                    return Err(ModelError::Output(format!("{} values for {} labels", r.len(), labels.len())));
                }
                Ok(labels.iter().cloned().zip(r.iter().copied()).collect())
            };
        (0..rows)
            .map(|i| {
                Ok(TextScores {
                    sentiment: row(&sentiment, i, &self.sentiment_labels)?,
                    valence: valence.index_axis(Axis(0), i).iter().copied().next().unwrap_or(0.0),
                    emotions: row(&emotions, i, &self.emotion_labels)?,
                    tokens: lengths.get(i).copied().unwrap_or(0),
                })
            })
            .collect()
    }

    /// Stress-level probabilities for each feature row (see [`FEATURE_NAMES`]).
    pub fn risk(&mut self, features: &[[f32; 9]]) -> Result<Vec<RiskScores>, ModelError> {
        let input = Array2::from_shape_vec((features.len(), 9), features.iter().flatten().copied().collect())
            .map_err(|e| ModelError::Output(e.to_string()))?;
        let outputs = self.risk.run(ort::inputs!["features" => TensorRef::from_array_view(&input)?])?;
        let probs = outputs["probabilities"].try_extract_array::<f32>()?;
        (0..features.len())
            .map(|i| {
                let r = probs.index_axis(Axis(0), i);
                if r.len() != self.stress_labels.len() {
                    return Err(ModelError::Output(format!(
                        "risk: {} values for {} labels",
                        r.len(),
                        self.stress_labels.len()
                    )));
                }
                Ok(RiskScores { levels: self.stress_labels.iter().cloned().zip(r.iter().copied()).collect() })
            })
            .collect()
    }
}
