//! `/api/v1/checkins`: store a check-in and queue its analysis; list check-ins.

mod domain;

use mindwell_shared::{
    domain::{AnalysisStatus, analysis},
    entities::{ai_analysis_results as analyses, daily_checkins as checkins},
    jobs::{AnalyzeCheckin, Job},
    now,
};
use poem::Request;
use poem_openapi::{
    ApiResponse, Object, OpenApi, Tags,
    param::{Header, Query},
    payload::Json,
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, TransactionTrait};
use serde_json::Value;
use uuid::Uuid;

use self::domain::{CheckinTime, Meta, Mood, NoteText, SleepHours};
use crate::{
    auth::guard::Auth,
    body::{Body, Envelope, Fields, FromJson, Reply, ok},
    error::ApiError,
    idempotency::Idempotent,
    paging::{self, Cursor, Page},
    request_id::RequestId,
    state::AppState,
    types::Time,
};

#[derive(Tags)]
enum Tag {
    /// Daily check-ins.
    Checkins,
}

/// A stored check-in.
#[derive(Debug, Clone, Object)]
pub struct Checkin {
    pub id: Uuid,
    pub user_id: Uuid,
    /// 1 to 10.
    pub mood: i32,
    /// 0 to 24.
    pub sleep_hours: f64,
    pub notes: String,
    pub meta: Value,
    pub timestamp: Time,
    pub created_at: Time,
}

impl From<checkins::Model> for Checkin {
    fn from(c: checkins::Model) -> Self {
        Self {
            id: c.id,
            user_id: c.user_id,
            mood: i32::from(c.mood),
            sleep_hours: c.sleep_hours,
            notes: c.notes,
            meta: c.meta,
            timestamp: c.timestamp.into(),
            created_at: c.created_at.into(),
        }
    }
}

/// `POST /checkins` body.
#[derive(Debug, Clone, Object)]
pub struct CheckinRequest {
    #[oai(validator(minimum(value = "1"), maximum(value = "10")))]
    pub mood: i32,
    #[oai(validator(minimum(value = "0"), maximum(value = "24")))]
    pub sleep_hours: f64,
    /// At most 4000 characters; default "".
    #[oai(nullable, validator(max_length = 4000))]
    pub notes: Option<String>,
    /// Default now; at most 5 minutes in the future; any offset, stored as UTC.
    #[oai(nullable)]
    pub timestamp: Option<Time>,
    /// A JSON object of at most 8 KiB.
    #[oai(nullable)]
    pub meta: Option<std::collections::BTreeMap<String, Value>>,
}

/// A parsed check-in.
#[derive(Debug)]
pub struct NewCheckin {
    mood: Mood,
    sleep: SleepHours,
    notes: NoteText,
    timestamp: Option<CheckinTime>,
    meta: Meta,
}

crate::body::schema_as!(NewCheckin, CheckinRequest);

impl FromJson for NewCheckin {
    fn from_json(f: &mut Fields<'_>) -> Option<Self> {
        let mood = f.int("mood").and_then(|n| Mood::parse(n).map_err(|r| f.error("mood", r)).ok());
        let sleep =
            f.number("sleep_hours").and_then(|h| SleepHours::parse(h).map_err(|r| f.error("sleep_hours", r)).ok());
        let notes = f
            .opt_string("notes")
            .and_then(|n| NoteText::parse(n.unwrap_or_default()).map_err(|r| f.error("notes", r)).ok());
        let timestamp = f.opt_string("timestamp").and_then(|t| match t {
            None => Some(None),
            Some(t) => CheckinTime::parse(&t, now()).map(Some).map_err(|r| f.error("timestamp", r)).ok(),
        });
        let meta =
            f.opt_object("meta").and_then(|m| Meta::parse(m.unwrap_or_default()).map_err(|r| f.error("meta", r)).ok());
        Some(Self { mood: mood?, sleep: sleep?, notes: notes?, timestamp: timestamp?, meta: meta? })
    }
}

/// The answer to `POST /checkins`.
#[derive(Debug, Clone, Object)]
pub struct CheckinAccepted {
    pub checkin: Checkin,
    /// The id to poll at `GET /insights/{id}`.
    pub analysis_id: Uuid,
    /// `queued`.
    pub status: String,
}

#[derive(ApiResponse)]
enum CreateResponse {
    /// Stored; its analysis is queued.
    #[oai(status = 202)]
    Accepted(Json<Envelope<CheckinAccepted>>),
    /// The first answer to this `Idempotency-Key`, again; nothing new was created.
    #[oai(status = 200)]
    Replayed(Json<Envelope<CheckinAccepted>>),
}

/// Stores the check-in and its `queued` analysis in one statement (one round
/// trip, atomic without an explicit transaction): the hot path on PostgreSQL
/// when no `Idempotency-Key` is given.
async fn store_in_one_statement(
    db: &sea_orm::DatabaseConnection,
    c: &checkins::Model,
    analysis_id: Uuid,
    request_id: Option<&str>,
) -> Result<(), ApiError> {
    use sea_orm::{ConnectionTrait, Statement};
    const SQL: &str = r#"WITH c AS (
            INSERT INTO daily_checkins (id, user_id, mood, sleep_hours, notes, meta, "timestamp", created_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
            RETURNING id, user_id, created_at
        )
        INSERT INTO ai_analysis_results (id, checkin_id, user_id, status, attempts, request_id, created_at, updated_at)
        SELECT $9, c.id, c.user_id, $10, 0, $11, c.created_at, c.created_at FROM c"#;
    let values: [sea_orm::Value; 11] = [
        c.id.into(),
        c.user_id.into(),
        c.mood.into(),
        c.sleep_hours.into(),
        c.notes.clone().into(),
        c.meta.clone().into(),
        c.timestamp.into(),
        c.created_at.into(),
        analysis_id.into(),
        AnalysisStatus::Queued.into(),
        request_id.map(str::to_owned).into(),
    ];
    db.execute_raw(Statement::from_sql_and_values(sea_orm::DbBackend::Postgres, SQL, values)).await?;
    Ok(())
}

fn envelope(data: CheckinAccepted) -> Json<Envelope<CheckinAccepted>> {
    Json(Envelope { ok: true, data, error: None })
}

/// The check-in endpoints.
#[derive(Debug, Default)]
pub struct CheckinsApi;

#[OpenApi(prefix_path = "/api/v1/checkins", tag = "Tag::Checkins")]
impl CheckinsApi {
    /// Record a check-in. It is stored before the answer; its analysis runs on
    /// the worker fleet (poll `GET /insights/{analysis_id}`). The same
    /// `Idempotency-Key` within 24 h replays the first answer (200).
    #[oai(path = "/", method = "post")]
    async fn create(
        &self,
        state: poem::web::Data<&AppState>,
        req: &Request,
        auth: Auth,
        body: Body<NewCheckin>,
        #[oai(name = "Idempotency-Key")] idempotency_key: Header<Option<String>>,
    ) -> Result<CreateResponse, ApiError> {
        let user = auth.0.id;
        let idempotent = Idempotent::from_header(user, idempotency_key.0, &body.raw)?;
        if let Some(i) = &idempotent
            && let Some(replay) = i.replay(&state.db).await?
        {
            return Ok(CreateResponse::Replayed(envelope(replay)));
        }

        let c = body.value;
        let at = now();
        let checkin = checkins::Model {
            id: Uuid::now_v7(),
            user_id: user,
            mood: c.mood.get(),
            sleep_hours: c.sleep.get(),
            notes: c.notes.into_inner(),
            meta: c.meta.into_value(),
            timestamp: c.timestamp.map_or(at, CheckinTime::get),
            created_at: at,
        };
        let analysis_id = Uuid::now_v7();
        let request_id = req.data::<RequestId>().map(|r| r.0.clone());
        let accepted =
            CheckinAccepted { checkin: checkin.clone().into(), analysis_id, status: AnalysisStatus::Queued.into() };

        if idempotent.is_none() && state.db.get_database_backend() == sea_orm::DbBackend::Postgres {
            store_in_one_statement(&state.db, &checkin, analysis_id, request_id.as_deref()).await?;
        } else {
            let txn = state.db.begin().await?;
            if let Some(i) = &idempotent
                && !i.save(&txn, 202, &accepted, at).await?
            {
                // A concurrent request with this key won, or an expired entry is
                // still there; answer as it did, or replace the expired one.
                txn.rollback().await?;
                return Ok(CreateResponse::Replayed(envelope(i.taken(&state.db).await?)));
            }
            checkins::Entity::insert(checkins::ActiveModel::from(checkin.clone())).exec_without_returning(&txn).await?;
            analyses::Entity::insert(analysis::queued(analysis_id, checkin.id, user, request_id.clone(), at))
                .exec_without_returning(&txn)
                .await?;
            txn.commit().await?;
        }

        crate::infra::dashboard_cache::invalidate(&state.kv, user).await;
        // Stored first, enqueued second: if the queue is down the analysis stays
        // `queued` in the database; this process enqueues it again once the queue
        // answers, and the stale sweeper finds it should this process stop first.
        let job = AnalyzeCheckin { analysis_id, checkin_id: checkin.id, user_id: user, request_id };
        if let Err(e) = state.queue.push(job.clone()).await {
            metrics::counter!("mindwell_enqueue_failures_total", "job" => <AnalyzeCheckin as Job>::NAME).increment(1);
            let held = state.requeue.later(job);
            tracing::warn!(%analysis_id, error = %mindwell_shared::Chain(&e), held, "could not enqueue the analysis; it stays queued");
        }
        Ok(CreateResponse::Accepted(envelope(accepted)))
    }

    /// The caller's check-ins in `range` (the last N days in their time zone),
    /// newest `timestamp` first.
    #[oai(path = "/", method = "get")]
    async fn list(
        &self,
        state: poem::web::Data<&AppState>,
        auth: Auth,
        range: Query<Option<String>>,
        limit: Query<paging::LimitParam>,
        cursor: Query<paging::CursorParam>,
    ) -> Result<Reply<Page<Checkin>>, ApiError> {
        let days = paging::range_days(range.0.as_deref())?;
        let limit = limit.get()?;
        let cursor = cursor.get()?;
        let tz = mindwell_shared::time::user_tz(&state.db, auth.0.id).await?;
        let start = paging::range_start(tz, days, now());
        let query = checkins::Entity::find()
            .filter(checkins::Column::UserId.eq(auth.0.id))
            .filter(checkins::Column::Timestamp.gte(start));
        let rows = paging::newest_first(query, checkins::Column::Timestamp, checkins::Column::Id, cursor, limit)
            .all(&state.db)
            .await?;
        Ok(ok(paging::page(rows, limit, |r| Cursor { at: r.timestamp, id: r.id })))
    }
}
