//! The worker's models: the active engine, swapped without a restart when
//! `active.json` changes (polled, or at once on SIGHUP), the shadow candidate,
//! and other combinations that backfill jobs ask for.
//!
//! A swap loads the new versions beside the old, runs their golden examples,
//! then replaces the active engine in one step: jobs already running finish on
//! the engine they started with, so every result carries a version that was
//! active when it ran. If anything fails the old engine keeps serving and the
//! error is logged, counted (`mindwell_model_load_failures_total`) and shown in
//! the status that `GET /api/v1/admin/models` reports.

use std::{
    collections::{BTreeMap, HashMap},
    path::PathBuf,
    sync::{Arc, Mutex, RwLock},
    time::Duration,
};

use chrono::Utc;

use super::{ActiveFile, Engine, ModelError, engine::EngineSettings};

/// The shadow candidate and the share of live jobs it runs on.
#[derive(Debug, Clone)]
pub struct Shadow {
    pub engine: Arc<Engine>,
    pub share: f64,
}

pub use mindwell_shared::worker_status::{ModelsStatus, ShadowStatus};

/// Extra combinations (backfill) kept loaded at once.
const EXTRA_ENGINES: usize = 2;

/// The active engine, the shadow candidate and the status, shared by all jobs.
#[derive(Debug)]
pub struct Models {
    model_dir: PathBuf,
    settings: EngineSettings,
    active: RwLock<Arc<Engine>>,
    shadow: RwLock<Option<Shadow>>,
    extra: tokio::sync::Mutex<HashMap<String, Arc<Engine>>>,
    /// The `active.json` last applied (or last refused, so a bad file is reported once).
    seen: Mutex<ActiveFile>,
    status: Mutex<ModelsStatus>,
    /// One reload at a time.
    reloading: tokio::sync::Mutex<()>,
}

fn key(versions: &BTreeMap<String, String>) -> String {
    versions.iter().map(|(k, v)| format!("{k}@{v}")).collect::<Vec<_>>().join("+")
}

impl Models {
    /// Loads the versions `model_dir/active.json` names (and its shadow candidate);
    /// any failure is returned: a worker does not start without working models.
    pub async fn load(model_dir: PathBuf, settings: EngineSettings) -> Result<Arc<Self>, ModelError> {
        let file = ActiveFile::read(&model_dir)?;
        let engine = Arc::new(Engine::load(&model_dir, &file.versions, settings).await?);
        let shadow = match (&file.shadow, file.shadow_versions()) {
            (Some(spec), Some(versions)) => Some(Shadow {
                engine: Arc::new(Engine::load(&model_dir, &versions, settings).await?),
                share: spec.share,
            }),
            _ => None,
        };
        let status = ModelsStatus {
            active: file.versions.clone(),
            version: engine.version.to_string(),
            shadow: shadow.as_ref().map(|s| ShadowStatus { version: s.engine.version.to_string(), share: s.share }),
            last_error: None,
            last_error_at: None,
            loaded_at: Utc::now(),
        };
        report(&status);
        Ok(Arc::new(Self {
            model_dir,
            settings,
            active: RwLock::new(engine),
            shadow: RwLock::new(shadow),
            extra: tokio::sync::Mutex::new(HashMap::new()),
            seen: Mutex::new(file),
            status: Mutex::new(status),
            reloading: tokio::sync::Mutex::new(()),
        }))
    }

    /// The engine serving live jobs now; a job keeps it for its whole run.
    pub fn active(&self) -> Arc<Engine> {
        self.active.read().map_or_else(|e| e.into_inner().clone(), |a| a.clone())
    }

    /// The shadow candidate, if one is configured.
    pub fn shadow(&self) -> Option<Shadow> {
        self.shadow.read().map_or_else(|e| e.into_inner().clone(), |s| s.clone())
    }

    /// What this worker serves, for `GET /admin/models`.
    pub fn status(&self) -> ModelsStatus {
        self.status.lock().map_or_else(|e| e.into_inner().clone(), |s| s.clone())
    }

    /// The engine for `versions`: the active or shadow one if they match, else
    /// one loaded (and kept, a few at a time) for backfill jobs.
    pub async fn variant(&self, versions: &BTreeMap<String, String>) -> Result<Arc<Engine>, ModelError> {
        let active = self.active();
        if &active.versions == versions {
            return Ok(active);
        }
        if let Some(shadow) = self.shadow()
            && &shadow.engine.versions == versions
        {
            return Ok(shadow.engine);
        }
        let mut extra = self.extra.lock().await;
        let k = key(versions);
        if let Some(engine) = extra.get(&k) {
            return Ok(engine.clone());
        }
        let engine = Arc::new(Engine::load(&self.model_dir, versions, self.settings).await?);
        if extra.len() >= EXTRA_ENGINES {
            extra.clear();
        }
        extra.insert(k, engine.clone());
        Ok(engine)
    }

    /// Applies `active.json` if it changed since it was last seen; returns
    /// whether the active or shadow engine changed.
    pub async fn reload(&self) -> bool {
        let _one = self.reloading.lock().await;
        let file = match ActiveFile::read(&self.model_dir) {
            Ok(file) => file,
            Err(e) => {
                self.refuse("active", &e, None);
                return false;
            }
        };
        let seen = self.seen.lock().map_or_else(|e| e.into_inner().clone(), |s| s.clone());
        if seen == file {
            return false;
        }
        let active = self.active();
        let engine = if active.versions == file.versions {
            active
        } else {
            match Engine::load(&self.model_dir, &file.versions, self.settings).await {
                Ok(engine) => Arc::new(engine),
                Err(e) => {
                    self.refuse(&changed_models(&active.versions, &file.versions), &e, Some(file));
                    return false;
                }
            }
        };
        let shadow = match (&file.shadow, file.shadow_versions()) {
            (Some(spec), Some(versions)) => match self.variant(&versions).await {
                Ok(engine) => Some(Shadow { engine, share: spec.share }),
                Err(e) => {
                    self.refuse("shadow", &e, Some(file));
                    return false;
                }
            },
            _ => None,
        };
        let old = self.active().version.clone();
        if let Ok(mut a) = self.active.write() {
            *a = engine.clone();
        }
        if let Ok(mut s) = self.shadow.write() {
            s.clone_from(&shadow);
        }
        let status = ModelsStatus {
            active: file.versions.clone(),
            version: engine.version.to_string(),
            shadow: shadow.as_ref().map(|s| ShadowStatus { version: s.engine.version.to_string(), share: s.share }),
            last_error: None,
            last_error_at: None,
            loaded_at: if *old == *engine.version { self.status().loaded_at } else { Utc::now() },
        };
        tracing::info!(from = %old, to = %engine.version, shadow = ?status.shadow, "models swapped");
        for (model, version) in &self.status().active {
            metrics::gauge!("mindwell_models_active", "model" => model.clone(), "version" => version.clone()).set(0.0);
        }
        report(&status);
        if let Ok(mut s) = self.status.lock() {
            *s = status;
        }
        if let Ok(mut s) = self.seen.lock() {
            *s = file;
        }
        true
    }

    fn refuse(&self, model: &str, error: &ModelError, seen: Option<ActiveFile>) {
        tracing::error!(model, error = %error, "model change refused; the previous models keep serving");
        metrics::counter!("mindwell_model_load_failures_total", "model" => model.to_owned()).increment(1);
        if let Ok(mut s) = self.status.lock() {
            s.last_error = Some(error.to_string());
            s.last_error_at = Some(Utc::now());
        }
        if let (Some(file), Ok(mut s)) = (seen, self.seen.lock()) {
            *s = file;
        }
    }

    /// Reloads every `interval` and at once on SIGHUP, until `stop` turns true.
    pub fn watch(self: Arc<Self>, interval: Duration, mut stop: tokio::sync::watch::Receiver<bool>) {
        tokio::spawn(async move {
            let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
            let mut tick = tokio::time::interval(interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    Some(()) = async { match hup.as_mut() { Some(h) => h.recv().await, None => None } } => {
                        tracing::info!("SIGHUP: checking active.json");
                    }
                    _ = stop.wait_for(|s| *s) => break,
                }
                self.reload().await;
            }
        });
    }
}

/// The models whose version differs, for the failure metric's label.
fn changed_models(old: &BTreeMap<String, String>, new: &BTreeMap<String, String>) -> String {
    let changed: Vec<&str> =
        new.iter().filter(|(k, v)| old.get(*k) != Some(*v)).map(|(k, _)| k.as_str()).collect::<Vec<_>>();
    if changed.is_empty() { "active".into() } else { changed.join("+") }
}

/// Sets `mindwell_models_active{model,version}` to 1 for what serves now.
fn report(status: &ModelsStatus) {
    for (model, version) in &status.active {
        metrics::gauge!("mindwell_models_active", "model" => model.clone(), "version" => version.clone()).set(1.0);
    }
}
