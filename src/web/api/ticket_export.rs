//! `GET /tickets/export?format=xlsx|csv`: the ticket list (with the list's filters) as a
//! file, in constant memory whatever the number of tickets. Rows are read in keyset
//! batches of `BATCH` (newest first, each batch older than the last); CSV goes to the
//! client batch by batch as it is read, XLSX rows go to a constant-memory sheet on disk
//! and the workbook is then written straight into the response.

use std::collections::HashMap;

use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::HeaderValue;
use axum::response::Response;
use tokio::sync::mpsc;

use crate::domain::tickets as tk;
use crate::error::{AppError, AppResult};
use crate::store::Store;
use crate::store::desk::{TicketFilter, TicketRow};
use crate::transfer::{CSV_BOM, XlsxRows, csv_records};
use crate::web::AppState;
use crate::web::auth::{ApiUser, staff_only};

/// Tickets read per query: a batch is all an export holds at once.
const BATCH: i64 = 500;

const HEADERS: [&str; 15] = [
    "编号",
    "类型",
    "标题",
    "系统",
    "优先级",
    "状态",
    "来源",
    "报障人",
    "报障时间",
    "首次响应",
    "到场",
    "解决",
    "处理人",
    "SLA 超时",
    "满意度",
];

const XLSX_MIME: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

fn row(t: &TicketRow) -> Vec<String> {
    let local = |v: Option<i64>| v.map(crate::clock::local_minutes).unwrap_or_default();
    vec![
        t.number.clone(),
        tk::label(tk::KINDS, &t.kind),
        t.title.clone(),
        t.system_name.clone().unwrap_or_default(),
        t.priority.clone(),
        tk::label(tk::STATUSES, &t.status),
        tk::label(tk::SOURCES, &t.source),
        t.requester_name.clone().unwrap_or_default(),
        crate::clock::local_minutes(t.reported_at),
        local(t.first_response_at),
        local(t.onsite_at),
        local(t.resolved_at),
        t.assignee_name.clone().unwrap_or_default(),
        if t.sla_breached != 0 {
            "是".into()
        } else {
            "否".into()
        },
        t.satisfaction.map(|s| s.to_string()).unwrap_or_default(),
    ]
}

/// Walks the filter's tickets in keyset batches, newest first.
struct Batches {
    store: Store,
    filter: TicketFilter,
    before: Option<i64>,
    done: bool,
}

impl Batches {
    fn new(store: Store, filter: TicketFilter) -> Self {
        Batches {
            store,
            filter,
            before: None,
            done: false,
        }
    }

    /// The next batch, or `None` after the last.
    async fn next(&mut self) -> AppResult<Option<Vec<TicketRow>>> {
        if self.done {
            return Ok(None);
        }
        let rows = self
            .store
            .ticket_export_batch(&self.filter, self.before, BATCH)
            .await?;
        self.done = (rows.len() as i64) < BATCH;
        self.before = rows.last().map(|t| t.id);
        Ok(Some(rows))
    }
}

#[utoipa::path(
    get,
    path = "/tickets/export",
    tag = "tickets",
    summary = "导出工单（带列表的筛选条件）",
    params(super::openapi::SearchQuery, super::tickets::TicketQuery, ("format" = Option<String>, Query, description = "xlsx（默认）或 csv")),
    responses((status = 200, description = "文件", content((Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"), (String = "text/csv"))))
)]
pub async fn export(
    State(st): State<AppState>,
    ApiUser(u): ApiUser,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Response> {
    staff_only(&u)?;
    let filter = crate::desk::ticket_filter(&q)?;
    let date = super::inventory::today(&st.ctx).format("%Y%m%d");
    let (body, mime, file) = match q.get("format").map(String::as_str).unwrap_or("xlsx") {
        "xlsx" => (
            xlsx_body(&st, filter).await?,
            XLSX_MIME,
            format!("tickets-{date}.xlsx"),
        ),
        "csv" => (
            csv_body(st.store.clone(), filter),
            "text/csv; charset=utf-8",
            format!("tickets-{date}.csv"),
        ),
        _ => return Err(AppError::invalid("format", "format 可选：xlsx、csv")),
    };
    Ok(crate::web::download::file(
        HeaderValue::from_static(mime),
        &file,
        body,
    ))
}

/// The CSV file as a body that reads the next batch only when the client has taken the
/// previous one. A database error part-way ends the response early (the client sees an
/// incomplete transfer, not a short file that looks whole).
fn csv_body(store: Store, filter: TicketFilter) -> Body {
    let start = (Batches::new(store, filter), true);
    let stream = futures_util::stream::try_unfold(start, |(mut batches, first)| async move {
        let mut out = Vec::new();
        if first {
            out.extend_from_slice(CSV_BOM);
            out.extend(csv_records(&[HEADERS])?);
        }
        match batches.next().await {
            Ok(Some(rows)) => {
                let table: Vec<Vec<String>> = rows.iter().map(row).collect();
                out.extend(csv_records(&table)?);
            }
            Ok(None) if first => {}
            Ok(None) => return Ok(None),
            Err(e) => {
                tracing::error!(error = %e, "ticket CSV export stopped");
                return Err(anyhow::anyhow!("ticket CSV export stopped: {e}"));
            }
        }
        Ok::<_, anyhow::Error>(Some((Bytes::from(out), (batches, false))))
    });
    Body::from_stream(stream)
}

/// Chunks of the workbook on their way from the writing thread to the response.
struct ChannelWriter {
    tx: mpsc::Sender<std::io::Result<Bytes>>,
    buf: Vec<u8>,
}

const CHUNK: usize = 64 * 1024;

impl std::io::Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.flush()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        // Waits while the client is behind; fails when it has gone away.
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| std::io::Error::other("the client went away"))
    }
}

/// Rows are written to a constant-memory sheet (a temporary file under the data
/// directory) on a blocking thread as batches arrive; once all are in, the response
/// starts and the same thread writes the zip into it in 64 KiB chunks.
async fn xlsx_body(st: &AppState, filter: TicketFilter) -> AppResult<Body> {
    let tempdir = st.ctx.config.data_dir.join("tmp");
    tokio::fs::create_dir_all(&tempdir)
        .await
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", tempdir.display()))?;
    let (rows_tx, mut rows_rx) = mpsc::channel::<Vec<Vec<String>>>(2);
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel::<anyhow::Result<()>>();
    let (bytes_tx, bytes_rx) = mpsc::channel::<std::io::Result<Bytes>>(4);
    let writer = tokio::task::spawn_blocking(move || {
        let sheet = (|| {
            let mut sheet = XlsxRows::new("工单", &HEADERS, &tempdir)?;
            while let Some(batch) = rows_rx.blocking_recv() {
                sheet.write_rows(&batch)?;
            }
            Ok(sheet)
        })();
        let sheet = match sheet {
            Ok(s) => s,
            Err(e) => {
                let _ = ready_tx.send(Err(e));
                return;
            }
        };
        if ready_tx.send(Ok(())).is_err() {
            return;
        }
        let mut out = ChannelWriter {
            tx: bytes_tx.clone(),
            buf: Vec::with_capacity(CHUNK),
        };
        let done = sheet.finish(&mut out).and_then(|()| {
            std::io::Write::flush(&mut out)?;
            Ok(())
        });
        if let Err(e) = done {
            // The client left, or the zip could not be written: then the response ends
            // with an error, so the client does not take a cut-off file for a whole one.
            tracing::warn!(error = %e, "ticket XLSX export stopped");
            let _ = bytes_tx.blocking_send(Err(std::io::Error::other(e.to_string())));
        }
    });
    let mut batches = Batches::new(st.store.clone(), filter);
    let mut total: u64 = 0;
    let fed: AppResult<()> = async {
        while let Some(rows) = batches.next().await? {
            total += rows.len() as u64;
            if total > u64::from(XlsxRows::MAX_DATA_ROWS) {
                return Err(AppError::invalid(
                    "format",
                    format!(
                        "超过 XLSX 工作表 {} 行的上限，请缩小时间范围或导出 CSV",
                        XlsxRows::MAX_DATA_ROWS
                    ),
                ));
            }
            if rows_tx.send(rows.iter().map(row).collect()).await.is_err() {
                // The writer stopped; its error comes through `ready`.
                break;
            }
        }
        Ok(())
    }
    .await;
    drop(rows_tx);
    if let Err(e) = fed {
        // Dropping the receivers stops the writer at its next send.
        drop(ready_rx);
        drop(bytes_rx);
        let _ = writer.await;
        return Err(e);
    }
    match ready_rx.await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(AppError::Internal(e.context("writing the ticket workbook"))),
        Err(_) => {
            return Err(AppError::Internal(anyhow::anyhow!(
                "the ticket workbook writer stopped"
            )));
        }
    }
    let stream = futures_util::stream::unfold(bytes_rx, |mut rx| async move {
        rx.recv().await.map(|b| (b, rx))
    });
    Ok(Body::from_stream(stream))
}
