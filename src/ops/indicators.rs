//! A line's indicators over a period, and the requesters it served recently.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::check_read;
use crate::Ctx;
use crate::accounts::AuthUser;
use crate::domain::operations::{LineStats, RecordFact, RecordType, line_stats};
use crate::error::AppResult;

/// A line's indicators over `[from, to)`.
#[derive(Debug, Serialize, ToSchema)]
pub struct LineIndicators {
    pub line_id: i64,
    pub code: String,
    pub name: String,
    pub from: String,
    pub to: String,
    pub handle_minutes: i64,
    /// Requirements of the line proposed in the period, and delivered or verified in it.
    pub requirements_new: i64,
    pub requirements_delivered: i64,
    #[serde(flatten)]
    pub stats: LineStats,
}

pub async fn indicators(
    ctx: &Ctx,
    u: &AuthUser,
    line_id: i64,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> AppResult<LineIndicators> {
    check_read(u)?;
    let l = ctx.store.service_line(line_id).await?;
    let facts: Vec<RecordFact> = ctx
        .store
        .work_record_facts(line_id, from.timestamp_millis(), to.timestamp_millis())
        .await?
        .into_iter()
        .filter_map(|r| {
            Some(RecordFact {
                kind: RecordType::parse(&r.kind)?,
                channel: r.channel,
                duration_minutes: r.duration_minutes,
                result: r.result,
                rating: r.rating,
                summary: r.summary,
            })
        })
        .collect();
    let (requirements_new, requirements_delivered) = ctx
        .store
        .line_requirement_counts(line_id, from.timestamp_millis(), to.timestamp_millis())
        .await?;
    Ok(LineIndicators {
        line_id,
        code: l.code.clone(),
        name: l.name.clone(),
        from: crate::clock::rfc3339(from.timestamp_millis()),
        to: crate::clock::rfc3339(to.timestamp_millis()),
        handle_minutes: l.handle_minutes,
        requirements_new,
        requirements_delivered,
        stats: line_stats(&facts, l.handle_minutes),
    })
}

/// The requesters most recently served on a line, for the entry form to offer.
pub async fn recent_requesters(ctx: &Ctx, u: &AuthUser, line_id: i64) -> AppResult<Vec<Value>> {
    check_read(u)?;
    Ok(ctx
        .store
        .recent_requesters(line_id, 20)
        .await?
        .into_iter()
        .map(|(r, o, l)| json!({"requester": r, "organisation": o, "org_level": l}))
        .collect())
}
