//! Last month's 《月度巡检报告》 (infrastructure and systems, DOCX and XLSX), every service
//! line's 《运营月报》 (DOCX) and the 《云资源利用率月度情况报表》, generated from the 1st of
//! each month, once (`report::monthly`).

use crate::Ctx;

pub async fn run(ctx: &Ctx) {
    if let Err(e) = crate::report::monthly(ctx).await {
        tracing::warn!(error = %e, "generating the monthly reports failed");
    }
}
