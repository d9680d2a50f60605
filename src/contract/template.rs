//! The template of an authored deliverable (维护规范, 需求规格说明书, 设计说明书, 测试报告,
//! 操作手册): a DOCX with the cover, one numbered chapter per line of the register's outline
//! with a note of what to write, page numbers and the signature block, for the contractor
//! to write in and upload as a version.

use crate::Ctx;
use crate::accounts::AuthUser;
use crate::domain::deliverables::Area;
use crate::error::{AppError, AppResult};
use crate::report::docx::{DocBuilder, DocMeta};

use super::check_read;

/// An outline line without its own numbering (`1 总则` → `总则`): the document numbers its
/// chapters itself.
fn chapter(line: &str) -> &str {
    line.trim_start_matches(|c: char| c.is_ascii_digit() || c == '.' || c == '、')
        .trim()
}

/// `GET /deliverables/{id}/template`: the file name and the DOCX bytes.
pub async fn template(ctx: &Ctx, u: &AuthUser, id: i64) -> AppResult<(String, Vec<u8>)> {
    check_read(u)?;
    let d = ctx.store.deliverable(id).await?;
    let Some(outline) = d.outline.as_deref().filter(|o| !o.trim().is_empty()) else {
        return Err(AppError::Conflict(
            "该交付物没有模板提纲：只有需要编写的文档（如维护规范、需求规格说明书）提供模板".into(),
        ));
    };
    let (project, purchaser, contractor) = crate::report::project_meta(ctx).await?;
    let period = match super::periods(ctx).await? {
        Some((om, ops)) => {
            let (a, b) = if d.area == Area::Operations.as_str() {
                ops
            } else {
                om
            };
            format!("服务期 {a} 至 {b}")
        }
        None => "服务期".into(),
    };
    let now = ctx.clock.now();
    let meta = DocMeta {
        title: d.name.clone(),
        subtitle: Some("编写模板".into()),
        project,
        purchaser,
        contractor,
        period,
        date: now.with_timezone(&crate::clock::beijing()).date_naive(),
        version: "模板".into(),
        created: now,
    };
    let mut b = DocBuilder::new(&meta).paragraph(&format!(
        "本模板依据采购需求 {} 节要求提交的《{}》生成。请按各章提纲编写，完成后在交付物中上传为新版本（DOCX 或 PDF），由采购方或监理审核。",
        d.section, d.name
    ));
    for line in outline.lines().map(chapter).filter(|l| !l.is_empty()) {
        b = b.heading(1, line).paragraph("（请在此编写本章内容。）");
    }
    let bytes = b.signatures().finish().map_err(AppError::Internal)?;
    Ok((format!("{}（模板）.docx", d.name), bytes))
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_outline_line_loses_its_own_number() {
        assert_eq!(
            super::chapter("1 总则（目的、适用范围、依据）"),
            "总则（目的、适用范围、依据）"
        );
        assert_eq!(super::chapter("4.2 接口"), "接口");
        assert_eq!(super::chapter("总则"), "总则");
    }
}
