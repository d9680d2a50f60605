//! The 技术支持 record a resolved consultation ticket leaves on the line serving its system.

use chrono::DateTime;
use serde_json::Map;

use super::records::{record_in, stored};
use super::{ids, line_types, may_write, record_json};
use crate::Ctx;
use crate::accounts::AuthUser;
use crate::domain::operations::{
    RecordCreate, RecordType, check_record, is_consultation, line_for_system,
};
use crate::error::AppResult;
use crate::store::audit::NewAuditEvent;

/// A resolved consultation ticket (a request of category 咨询) becomes one 技术支持 record
/// of the line serving its system (the first by code when several do), on the resolving
/// transaction, audited there: the requester, the title as the question, the resolution as
/// the answer, the minutes from its creation to now, channel 工单. Nothing when the ticket is
/// no consultation, has no system, no line serves it, or it made its record already
/// (resolved again after a reopen).
///
/// The record passes the checks of one entered by hand: the line keeps 技术支持 records, the
/// resolver may write that line's records (the manager, the admin, or an operator staffing
/// it), and the record's fields are valid (`check_record`). When one fails, no record is
/// written and the answer is the sentence saying why, for the ticket's timeline.
pub async fn support_from_ticket(
    ctx: &Ctx,
    tx: &mut crate::store::Tx,
    u: &AuthUser,
    t: &crate::store::desk::TicketRow,
    resolution: &str,
    now_ms: i64,
) -> AppResult<Option<String>> {
    if !is_consultation(&t.kind, t.category.as_deref()) {
        return Ok(None);
    }
    let Some(system_id) = t.system_id else {
        return Ok(None);
    };
    if ctx.store.record_of_ticket_exists_in(tx, t.id).await? {
        return Ok(None);
    }
    let lines = ctx.store.service_lines_in(tx).await?;
    let serving: Vec<(i64, String, Vec<i64>)> = lines
        .iter()
        .map(|l| (l.id, l.code.clone(), ids(&l.system_ids)))
        .collect();
    let Some(line) =
        line_for_system(&serving, system_id).and_then(|id| lines.iter().find(|l| l.id == id))
    else {
        return Ok(None);
    };
    let skipped = |why: String| {
        Ok(Some(format!(
            "咨询工单未记为服务条线 {} 的技术支持记录：{why}",
            line.code
        )))
    };
    let types = line_types(line);
    if !types.contains(&RecordType::Support) {
        return skipped(
            "该服务条线不记录“技术支持”类型，请由管理员在服务条线中添加该类型后手工补录".into(),
        );
    }
    if !may_write(u, line) {
        return skipped(format!(
            "处理人 {} 不是该服务条线的运营人员，请由该条线的运营人员手工补录",
            u.display_name
        ));
    }
    let requester = t
        .requester_name
        .clone()
        .or_else(|| t.requester_username.clone())
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| "（未署名）".into());
    let r = RecordCreate {
        line_id: line.id,
        kind: RecordType::Support,
        occurred_at: Some(crate::clock::rfc3339(t.created_at)),
        duration_minutes: Some(((now_ms - t.created_at) / 60_000).max(0)),
        requester: Some(requester),
        organisation: None,
        org_level: None,
        channel: Some("工单".into()),
        summary: t.title.clone(),
        answer: Some(resolution.to_string()),
        result: Some("已解决".into()),
        system_id: Some(system_id),
        ticket_id: Some(t.id),
        data: Map::new(),
    };
    let now = DateTime::from_timestamp_millis(now_ms).unwrap_or_else(|| ctx.clock.now());
    let v = match check_record(&r, &types, now) {
        Ok(c) => stored(line.id, &r, c),
        Err(errs) => {
            let why: Vec<String> = errs.into_iter().map(|e| e.message).collect();
            return skipped(why.join("；"));
        }
    };
    let id = ctx
        .store
        .insert_work_record(tx, &v, u.id, "ticket", now_ms)
        .await?;
    let row = record_in(ctx, tx, id).await?;
    NewAuditEvent::of(
        "create",
        "work_records",
        id,
        format!(
            "{} 技术支持：咨询工单 {} 解决后记录：{}",
            line.code, t.number, t.title
        ),
    )
    .after(record_json(&row))
    .write(tx, now_ms, &u.actor())
    .await?;
    Ok(None)
}
