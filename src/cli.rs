//! Command-line import and export, admin recovery and holiday imports, through the same
//! services as the API.

use crate::Ctx;
use crate::accounts::AuthUser;
use crate::domain::inventory::importable;
use crate::domain::roles::Role;
use crate::error::AppError;

fn cli_user() -> AuthUser {
    AuthUser {
        id: 0,
        username: "cli".into(),
        display_name: "命令行".into(),
        role: Role::Admin,
        must_change_password: false,
        password_expired: false,
        session_id: None,
        ip: None,
    }
}

/// Imports a file; the error text lists every bad row and column.
pub async fn import(
    ctx: &Ctx,
    collection: &str,
    file_name: &str,
    data: &[u8],
) -> Result<i64, String> {
    let spec = importable(collection).ok_or_else(|| {
        format!("unknown collection '{collection}': use assets, systems, staff or sites")
    })?;
    let mut u = cli_user();
    u.username = format!("cli:{}", whoami());
    match crate::transfer::import_file(ctx, &u, spec, file_name, data).await {
        Ok(v) => Ok(v
            .get("imported")
            .and_then(serde_json::Value::as_i64)
            .unwrap_or_default()),
        Err(AppError::Unprocessable {
            message, details, ..
        }) => {
            let mut out = message;
            for e in details
                .get("errors")
                .and_then(|e| e.as_array())
                .into_iter()
                .flatten()
            {
                out.push_str(&format!(
                    "\n  第 {} 行 {}：{}",
                    e.get("row").and_then(|v| v.as_i64()).unwrap_or_default(),
                    e.get("column").and_then(|v| v.as_str()).unwrap_or_default(),
                    e.get("message")
                        .and_then(|v| v.as_str())
                        .unwrap_or_default()
                ));
            }
            Err(out)
        }
        Err(e) => Err(e.message()),
    }
}

pub async fn export(ctx: &Ctx, collection: &str, format: &str) -> Result<Vec<u8>, String> {
    let spec = importable(collection).ok_or_else(|| {
        format!("unknown collection '{collection}': use assets, systems, staff or sites")
    })?;
    crate::transfer::export_file(ctx, spec, format)
        .await
        .map(|(b, _, _)| b)
        .map_err(|e| e.message())
}

/// `yunwei report KIND --period P --format F`: the report's bytes and file name; the
/// report is stored as `POST /api/v1/reports` stores it. Errors are the API's messages.
pub async fn report(
    ctx: &Ctx,
    kind: &str,
    period: &str,
    format: &str,
    scope: Option<&str>,
    plan_id: Option<i64>,
    line_id: Option<i64>,
) -> Result<(Vec<u8>, String), String> {
    let period = match period.split_once("..") {
        Some((from, to)) => serde_json::json!({"from": from, "to": to}),
        None => serde_json::json!(period),
    };
    let mut body = serde_json::json!({"kind": kind, "period": period, "format": format});
    if let Some(s) = scope {
        body["scope"] = serde_json::json!(s);
    }
    if let Some(p) = plan_id {
        body["plan_id"] = serde_json::json!(p);
    }
    if let Some(l) = line_id {
        body["line_id"] = serde_json::json!(l);
    }
    let req: crate::report::ReportRequest = crate::domain::input::decode(body).map_err(|errs| {
        errs.iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect::<Vec<_>>()
            .join("\n")
    })?;
    let who = crate::accounts::AuthUser::system(&format!("cli:{}", whoami()));
    let r = crate::report::generate(ctx, &who, &req)
        .await
        .map_err(|e| e.message())?;
    let (name, _, bytes) = crate::report::file(ctx, &who, r.id)
        .await
        .map_err(|e| e.message())?;
    Ok((bytes, name))
}

/// `yunwei acceptance-package --out FILE [--period om|operations|all]`: builds the package
/// as `GET /api/v1/acceptance-package` does and moves it to `out`. Answers the package's
/// download name.
pub async fn acceptance_package(
    ctx: &Ctx,
    period: &str,
    out: &std::path::Path,
) -> Result<String, String> {
    let sc = crate::contract::acceptance::scope(Some(period)).map_err(|e| e.message())?;
    let who = crate::accounts::AuthUser::system(&format!("cli:{}", whoami()));
    let p = crate::contract::acceptance::build(ctx, &who, sc)
        .await
        .map_err(|e| e.message())?;
    let moved = std::fs::rename(&p.path, out).or_else(|_| std::fs::copy(&p.path, out).map(|_| ()));
    let _ = std::fs::remove_file(&p.path);
    moved.map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    Ok(p.file_name)
}

/// The audit actor of a command run by someone at the server's shell.
fn cli_actor() -> crate::store::Actor {
    crate::store::Actor {
        user_id: None,
        name: format!("cli:{}", whoami()),
        ip: None,
    }
}

/// `yunwei user reset-password USERNAME`: the one-time password and the account.
pub async fn reset_password(
    ctx: &Ctx,
    username: &str,
) -> Result<(String, crate::store::users::UserRow), String> {
    match crate::accounts::reset_password_offline(ctx, username, &cli_actor()).await {
        Ok(v) => Ok(v),
        Err(AppError::NotFound) => Err(format!(
            "用户“{username}”不存在，请检查用户名（区分大小写）"
        )),
        Err(e @ AppError::Internal(_)) => Err(format!("{e:#}")),
        Err(e) => Err(e.message()),
    }
}

/// The calendar a holiday import goes to: `--calendar` (id or name), else the only
/// working-hours calendar.
async fn holiday_calendar(
    ctx: &Ctx,
    wanted: Option<&str>,
) -> Result<crate::store::desk::CalendarRow, String> {
    let cals = ctx
        .store
        .list_calendars()
        .await
        .map_err(|e| format!("{e:#}"))?;
    let names = || {
        cals.iter()
            .map(|c| format!("{}（{}）", c.id, c.name))
            .collect::<Vec<_>>()
            .join("、")
    };
    match wanted {
        Some(w) => cals
            .iter()
            .find(|c| c.id.to_string() == w || c.name == w)
            .cloned()
            .ok_or_else(|| format!("日历“{w}”不存在，可选：{}", names())),
        None => {
            let work: Vec<_> = cals.iter().filter(|c| c.kind == "working_hours").collect();
            match work.as_slice() {
                [one] => Ok((*one).clone()),
                [] => Err("没有工作时间日历可导入节假日安排".into()),
                _ => Err(format!(
                    "有多个工作时间日历，请用 --calendar 指定其编号或名称：{}",
                    names()
                )),
            }
        }
    }
}

/// `yunwei calendar import FILE`: the calendar and what happened.
pub async fn calendar_import(
    ctx: &Ctx,
    calendar: Option<&str>,
    file_name: &str,
    data: &[u8],
    req: &crate::holidays::ImportRequest,
) -> Result<
    (
        crate::store::desk::CalendarRow,
        crate::holidays::ImportOutcome,
    ),
    String,
> {
    let cal = holiday_calendar(ctx, calendar).await?;
    let mut u = cli_user();
    u.username = cli_actor().name;
    match crate::holidays::import(ctx, &u, cal.id, file_name, data, req).await {
        Ok(out) => Ok((cal, out)),
        Err(AppError::Unprocessable { details, .. }) => {
            let errors: Vec<crate::domain::holidays::RowError> =
                serde_json::from_value(details.get("errors").cloned().unwrap_or_default())
                    .unwrap_or_default();
            let mut out = format!("导入失败，共 {} 处错误，未导入任何数据：", errors.len());
            for e in &errors {
                out.push_str("\n  ");
                out.push_str(&crate::domain::holidays::describe(e));
            }
            Err(out)
        }
        Err(e @ AppError::Internal(_)) => Err(format!("{e:#}")),
        Err(e) => Err(e.message()),
    }
}

/// The diff as lines for a terminal: `+` added, `~` changed, `-` removed.
pub fn render_diff(d: &crate::domain::holidays::Diff) -> String {
    let kind = |w: bool| if w { "上班" } else { "放假" };
    let mut out = String::new();
    for r in &d.added {
        out.push_str(&format!("+ {} {} {}\n", r.date, kind(r.working), r.reason));
    }
    for (b, a) in &d.changed {
        out.push_str(&format!(
            "~ {} {} {} → {} {}\n",
            a.date,
            kind(b.working),
            b.reason,
            kind(a.working),
            a.reason
        ));
    }
    for r in &d.removed {
        out.push_str(&format!("- {} {} {}\n", r.date, kind(r.working), r.reason));
    }
    out.push_str(&format!(
        "{} 年：{}，{} 天不变\n",
        d.years
            .iter()
            .chain(d.merged_years.iter())
            .map(i32::to_string)
            .collect::<Vec<_>>()
            .join("、"),
        d.counts_text(),
        d.unchanged
    ));
    out
}

fn whoami() -> String {
    std::env::var("USER").unwrap_or_else(|_| "unknown".into())
}
