//! The DOCX side of the document engine: every document the contract asks for is built
//! here, so that each has what a government client signs — a cover with the project,
//! purchaser and contractor, the period, date and version; a table of contents field;
//! numbered headings in 黑体 and body text in 宋体 (with Latin fallbacks declared); tables
//! whose header row repeats on every page; the footer 第 X 页 共 Y 页; a signature block for
//! 用户单位、运维工程师、项目经理、监理 with dates; and real core properties (title, author =
//! the contractor, created time).
//!
//! docx-rs writes the body. It cannot set the core properties' title and creator, nor mark
//! a table row as a repeated header, so `finish` rewrites `docProps/core.xml` and turns the
//! header rows' `cantSplit` (only header rows are built with it) into `cantSplit` +
//! `tblHeader` in `word/document.xml`.

use std::io::{Cursor, Read, Write};

use chrono::{DateTime, NaiveDate, Utc};
use docx_rs::{
    AlignmentType, BreakType, Docx, Footer, LineSpacing, NumPages, PageMargin, PageNum, Paragraph,
    Pic, Run, RunFonts, Style, StyleType, Table, TableCell, TableLayoutType, TableOfContents,
    TableRow, WidthType,
};

/// What the cover and the properties show.
#[derive(Clone, Debug)]
pub struct DocMeta {
    /// The document's title (《月度巡检报告》 without the brackets).
    pub title: String,
    /// A subtitle under the title (基础设施 / 应用系统 …), if any.
    pub subtitle: Option<String>,
    pub project: String,
    pub purchaser: String,
    pub contractor: String,
    /// The period covered, as shown (2025 年 11 月).
    pub period: String,
    /// The date on the cover.
    pub date: NaiveDate,
    pub version: String,
    pub created: DateTime<Utc>,
}

#[cfg(test)]
impl DocMeta {
    /// A cover for tests: `title` (and `subtitle`) over 2025 年 11 月, made at `created`.
    pub fn sample(title: &str, subtitle: Option<&str>, created: DateTime<Utc>) -> DocMeta {
        DocMeta {
            title: title.into(),
            subtitle: subtitle.map(Into::into),
            project: "项目".into(),
            purchaser: "采购单位".into(),
            contractor: "运维单位".into(),
            period: "2025 年 11 月".into(),
            date: created.date_naive(),
            version: "V1.0".into(),
            created,
        }
    }
}

const SONG: &str = "宋体";
const HEI: &str = "黑体";
/// Latin text and the fallback where the Chinese fonts are missing.
const LATIN: &str = "Times New Roman";

fn fonts(east_asia: &str) -> RunFonts {
    RunFonts::new()
        .east_asia(east_asia)
        .ascii(LATIN)
        .hi_ansi(LATIN)
        .cs(LATIN)
}

fn run(s: &str) -> Run {
    Run::new().add_text(s).fonts(fonts(SONG)).size(24)
}

fn bold_run(s: &str, size: usize) -> Run {
    Run::new().add_text(s).fonts(fonts(HEI)).size(size).bold()
}

/// Chinese numerals for heading numbers up to 99.
fn cn_number(n: u32) -> String {
    const D: [&str; 10] = ["〇", "一", "二", "三", "四", "五", "六", "七", "八", "九"];
    match n {
        0..=9 => D[n as usize].to_string(),
        10 => "十".into(),
        11..=19 => format!("十{}", D[(n - 10) as usize]),
        _ => {
            let (t, o) = (n / 10, n % 10);
            format!(
                "{}十{}",
                D[t as usize % 10],
                if o == 0 { "" } else { D[o as usize] }
            )
        }
    }
}

/// A document being built; `finish` gives the bytes.
pub struct DocBuilder {
    docx: Docx,
    numbers: [u32; 3],
    meta: DocMeta,
    /// The width tables span: [`TEXT_WIDTH`], or [`LANDSCAPE_TEXT_WIDTH`].
    text_width: usize,
}

/// Page width inside the margins, in twentieths of a point (A4 with 2.5 cm margins).
pub const TEXT_WIDTH: usize = 9_072;
/// The same on a landscape page.
pub const LANDSCAPE_TEXT_WIDTH: usize = 14_004;

impl DocBuilder {
    /// A one-page form (故障报告, 技术支持服务表): the title, the project line and the
    /// footer, without a cover or table of contents.
    pub fn form(meta: &DocMeta) -> Self {
        let centered = |r: Run| Paragraph::new().align(AlignmentType::Center).add_run(r);
        let docx = Self::base(meta)
            .add_paragraph(centered(bold_run(&meta.title, 36)))
            .add_paragraph(centered(
                run(&format!("{}　采购单位：{}", meta.project, meta.purchaser)).size(21),
            ))
            .add_paragraph(Paragraph::new().add_run(run("")));
        DocBuilder {
            docx,
            numbers: [0; 3],
            meta: meta.clone(),
            text_width: TEXT_WIDTH,
        }
    }

    /// Styles, page setup, the footer and the dates of the properties.
    fn base(meta: &DocMeta) -> Docx {
        let heading = |id: &str, name: &str, size: usize| {
            Style::new(id, StyleType::Paragraph)
                .name(name)
                .bold()
                .size(size)
                .fonts(fonts(HEI))
        };
        let footer = Footer::new().add_paragraph(
            Paragraph::new()
                .align(AlignmentType::Center)
                .add_run(run("第 ").size(18))
                .add_page_num(PageNum::new())
                .add_run(run(" 页 共 ").size(18))
                .add_num_pages(NumPages::new())
                .add_run(run(" 页").size(18)),
        );
        let at = meta
            .created
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        Docx::new()
            .default_fonts(fonts(SONG))
            .default_size(24)
            .page_size(11_906, 16_838)
            .page_margin(
                PageMargin::new()
                    .top(1_418)
                    .bottom(1_418)
                    .left(1_417)
                    .right(1_417),
            )
            .add_style(heading("Heading1", "heading 1", 32))
            .add_style(heading("Heading2", "heading 2", 28))
            .add_style(heading("Heading3", "heading 3", 24))
            .footer(footer)
            .created_at(&at)
            .updated_at(&at)
    }

    /// Styles, the cover, the table of contents and the footer.
    pub fn new(meta: &DocMeta) -> Self {
        // The cover has no footer.
        let mut docx = Self::base(meta).first_footer(Footer::new()).title_pg();
        // Cover.
        let centered = |r: Run| Paragraph::new().align(AlignmentType::Center).add_run(r);
        let blank = || Paragraph::new().add_run(run(""));
        docx = docx.add_paragraph(blank()).add_paragraph(blank());
        docx = docx.add_paragraph(centered(bold_run(&meta.project, 32)));
        docx = docx.add_paragraph(blank());
        docx = docx.add_paragraph(centered(bold_run(&meta.title, 52)));
        if let Some(s) = &meta.subtitle {
            docx = docx.add_paragraph(centered(bold_run(s, 32)));
        }
        docx = docx.add_paragraph(blank()).add_paragraph(blank());
        for (k, v) in [
            ("报告期间", meta.period.as_str()),
            ("采购单位", meta.purchaser.as_str()),
            ("运维单位", meta.contractor.as_str()),
            ("文档版本", meta.version.as_str()),
        ] {
            docx = docx.add_paragraph(centered(run(&format!("{k}：{v}")).size(28)));
        }
        let date = format!(
            "{} 年 {} 月 {} 日",
            meta.date.format("%Y"),
            meta.date.format("%-m"),
            meta.date.format("%-d")
        );
        docx = docx
            .add_paragraph(blank())
            .add_paragraph(centered(run(&date).size(28)))
            .add_paragraph(Paragraph::new().add_run(Run::new().add_break(BreakType::Page)));
        // Table of contents: a field Word and LibreOffice fill in when the document opens
        // (marked dirty), listing headings 1–3.
        docx = docx
            .add_paragraph(centered(bold_run("目  录", 32)))
            .add_table_of_contents(
                TableOfContents::new()
                    .heading_styles_range(1, 3)
                    .auto()
                    .dirty(),
            )
            .add_paragraph(Paragraph::new().add_run(Run::new().add_break(BreakType::Page)));
        DocBuilder {
            docx,
            numbers: [0; 3],
            meta: meta.clone(),
            text_width: TEXT_WIDTH,
        }
    }

    /// Turns the pages landscape (A4), for tables with many columns (技术支持服务表); the
    /// tables and the signature block span the wider page.
    pub fn landscape(mut self) -> Self {
        self.docx = self
            .docx
            .page_size(16_838, 11_906)
            .page_orient(docx_rs::PageOrientationType::Landscape);
        self.text_width = LANDSCAPE_TEXT_WIDTH;
        self
    }

    /// A numbered heading: 一、 at level 1, （一） at level 2, 1. at level 3.
    pub fn heading(mut self, level: usize, text: &str) -> Self {
        let level = level.clamp(1, 3);
        self.numbers[level - 1] += 1;
        for n in self.numbers.iter_mut().skip(level) {
            *n = 0;
        }
        let n = self.numbers[level - 1];
        let number = match level {
            1 => format!("{}、", cn_number(n)),
            2 => format!("（{}）", cn_number(n)),
            _ => format!("{n}. "),
        };
        let size = [32, 28, 24][level - 1];
        self.docx = self.docx.add_paragraph(
            Paragraph::new()
                .style(&format!("Heading{level}"))
                .add_run(bold_run(&format!("{number}{text}"), size)),
        );
        self
    }

    /// A body paragraph, first line indented two characters.
    pub fn paragraph(mut self, text: &str) -> Self {
        for line in text.split('\n') {
            self.docx = self.docx.add_paragraph(
                Paragraph::new()
                    .indent(
                        None,
                        Some(docx_rs::SpecialIndentType::FirstLine(480)),
                        None,
                        None,
                    )
                    .line_spacing(LineSpacing::new().line(360))
                    .add_run(run(line)),
            );
        }
        self
    }

    /// A block's text as body paragraphs, one per non-empty line (trimmed).
    pub fn paragraphs(mut self, text: &str) -> Self {
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
            self = self.paragraph(line);
        }
        self
    }

    /// A table with a header row that repeats on every page. `widths` are relative.
    pub fn table(mut self, headers: &[&str], rows: &[Vec<String>], widths: &[usize]) -> Self {
        let tw = self.text_width;
        let total: usize = widths.iter().sum::<usize>().max(1);
        let w = |i: usize| widths.get(i).copied().unwrap_or(1) * tw / total;
        let cell = |s: &str, i: usize, header: bool| {
            let r = if header {
                Run::new().add_text(s).fonts(fonts(HEI)).size(21).bold()
            } else {
                run(s).size(21)
            };
            let mut c = TableCell::new()
                .add_paragraph(Paragraph::new().add_run(r))
                .width(w(i), WidthType::Dxa);
            if header {
                c = c.shading(docx_rs::Shading::new().fill("D9E2F3"));
            }
            c
        };
        // Only header rows use cant_split: `finish` marks them as repeated headers.
        let mut trs = vec![
            TableRow::new(
                headers
                    .iter()
                    .enumerate()
                    .map(|(i, h)| cell(h, i, true))
                    .collect(),
            )
            .cant_split(),
        ];
        for r in rows {
            trs.push(TableRow::new(
                r.iter()
                    .enumerate()
                    .map(|(i, v)| cell(v, i, false))
                    .collect(),
            ));
        }
        let grid: Vec<usize> = (0..headers.len()).map(w).collect();
        self.docx = self.docx.add_table(
            Table::new(trs)
                .set_grid(grid)
                .layout(TableLayoutType::Fixed)
                .width(tw, WidthType::Dxa),
        );
        self.docx = self.docx.add_paragraph(Paragraph::new().add_run(run("")));
        self
    }

    /// A PNG (a chart), `width_cm` wide, its height from the image's aspect ratio.
    pub fn image(mut self, png: Vec<u8>, px: (u32, u32), width_cm: f64, caption: &str) -> Self {
        let emu_w = (width_cm * 360_000.0) as u32;
        let emu_h = (f64::from(emu_w) * f64::from(px.1) / f64::from(px.0.max(1))) as u32;
        let pic = Pic::new_with_dimensions(png, px.0, px.1).size(emu_w, emu_h);
        self.docx = self
            .docx
            .add_paragraph(
                Paragraph::new()
                    .align(AlignmentType::Center)
                    .add_run(Run::new().add_image(pic)),
            )
            .add_paragraph(
                Paragraph::new()
                    .align(AlignmentType::Center)
                    .add_run(run(caption).size(21)),
            );
        self
    }

    /// The signature block: 用户单位、运维工程师、项目经理、监理, each with a date line.
    pub fn signatures(mut self) -> Self {
        let tw = self.text_width;
        self.docx = self
            .docx
            .add_paragraph(Paragraph::new().add_run(run("")))
            .add_paragraph(Paragraph::new().add_run(bold_run("签字确认", 28)));
        let roles = ["用户单位（签章）", "运维工程师", "项目经理", "监理"];
        let rows: Vec<TableRow> = roles
            .iter()
            .map(|r| {
                TableRow::new(vec![
                    TableCell::new()
                        .add_paragraph(Paragraph::new().add_run(run(r)))
                        .width(tw / 4, WidthType::Dxa),
                    TableCell::new()
                        .add_paragraph(Paragraph::new().add_run(run("签字：")))
                        .width(tw * 2 / 4, WidthType::Dxa),
                    TableCell::new()
                        .add_paragraph(Paragraph::new().add_run(run("日期：    年  月  日")))
                        .width(tw / 4, WidthType::Dxa),
                ])
                .row_height(800.0)
            })
            .collect();
        self.docx = self.docx.add_table(
            Table::new(rows)
                .set_grid(vec![tw / 4, tw / 2, tw / 4])
                .layout(TableLayoutType::Fixed)
                .width(tw, WidthType::Dxa),
        );
        self
    }

    /// The document's bytes, with its core properties and repeated header rows.
    pub fn finish(self) -> anyhow::Result<Vec<u8>> {
        let mut raw = Cursor::new(Vec::new());
        self.docx.build().pack(&mut raw)?;
        rewrite(raw.into_inner(), &self.meta, self.text_width)
    }
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn core_xml(meta: &DocMeta) -> String {
    let at = meta
        .created
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" xmlns:dcmitype="http://purl.org/dc/dcmitype/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><dc:title>{title}</dc:title><dc:subject>{subject}</dc:subject><dc:creator>{creator}</dc:creator><cp:lastModifiedBy>{creator}</cp:lastModifiedBy><cp:revision>1</cp:revision><dcterms:created xsi:type="dcterms:W3CDTF">{at}</dcterms:created><dcterms:modified xsi:type="dcterms:W3CDTF">{at}</dcterms:modified><dc:language>zh-CN</dc:language></cp:coreProperties>"#,
        title = xml_escape(&meta.title),
        subject = xml_escape(&format!("{}（{}）", meta.project, meta.period)),
        creator = xml_escape(&meta.contractor),
    )
}

/// Rewrites the package: our core properties, and header rows marked as repeated.
/// The table of contents as its entries only: each a heading's text and a `PAGEREF` field
/// to the heading's bookmark, which Word and LibreOffice both compute. docx-rs wraps them
/// in a `TOC` field inside content controls; LibreOffice then either prints the field's
/// instructions as text ("TOC \o …", "PAGEREF …") or keeps the placeholder page numbers,
/// depending on the wrapping. The entries are made from our own headings, so the `TOC`
/// field (which only regenerates them) is not needed.
fn toc_entries_only(xml: String) -> String {
    const OPEN: &str =
        "<w:sdt><w:sdtPr><w:rPr /></w:sdtPr><w:sdtContent><w:sdt><w:sdtPr /><w:sdtContent>";
    const CLOSE: &str = "</w:sdtContent></w:sdt></w:sdtContent></w:sdt>";
    const BEGIN: &str =
        "<w:r><w:rPr /><w:fldChar w:fldCharType=\"begin\" w:dirty=\"true\" /><w:instrText>TOC";
    const END: &str =
        "<w:r><w:rPr /><w:fldChar w:fldCharType=\"end\" w:dirty=\"false\" /></w:r></w:p>";
    let (Some(open), Some(begin)) = (xml.find(OPEN), xml.find(BEGIN)) else {
        return xml;
    };
    let Some(close) = xml[open..].find(CLOSE).map(|c| open + c) else {
        return xml;
    };
    // The run that starts the field: begin, instruction, separate.
    let Some(begin_end) = xml[begin..]
        .find("</w:r>")
        .map(|r| begin + r + "</w:r>".len())
        .filter(|e| xml[begin..*e].contains("w:fldCharType=\"separate\""))
    else {
        return xml;
    };
    // The paragraph that ends the field, the last inside the controls.
    let Some(end) = xml[..close]
        .rfind(END)
        .filter(|e| xml[*e..close].trim_end() == END)
    else {
        return xml;
    };
    let Some(end_para) = xml[..end].rfind("<w:p ") else {
        return xml;
    };
    if !(open < begin && begin_end <= end_para) {
        return xml;
    }
    let mut out = String::with_capacity(xml.len());
    out.push_str(&xml[..open]);
    out.push_str(&xml[open + OPEN.len()..begin]);
    out.push_str(&xml[begin_end..end_para]);
    out.push_str(&xml[close + CLOSE.len()..]);
    out
}

fn rewrite(docx: Vec<u8>, meta: &DocMeta, text_width: usize) -> anyhow::Result<Vec<u8>> {
    let mut zin = zip::ZipArchive::new(Cursor::new(docx))?;
    let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for i in 0..zin.len() {
        let mut f = zin.by_index(i)?;
        let name = f.name()?.to_string();
        if f.is_dir() {
            continue;
        }
        let mut data = Vec::new();
        f.read_to_end(&mut data)?;
        let data = match name.as_str() {
            "docProps/core.xml" => core_xml(meta).into_bytes(),
            // Word computes the contents' page references when the document opens (the
            // element's place in the schema is before w:compat).
            "word/settings.xml" => String::from_utf8(data)?
                .replacen(
                    "<w:compat>",
                    "<w:updateFields w:val=\"true\" /><w:compat>",
                    1,
                )
                .into_bytes(),
            "word/document.xml" => toc_entries_only(
                String::from_utf8(data)?
                    .replace("<w:cantSplit />", "<w:cantSplit /><w:tblHeader />")
                    .replace("<w:cantSplit/>", "<w:cantSplit/><w:tblHeader/>")
                    // The contents' right tab (page numbers) at the right margin.
                    .replace("w:pos=\"80000\"", &format!("w:pos=\"{text_width}\"")),
            )
            .into_bytes(),
            _ => data,
        };
        out.start_file(name, opts)?;
        out.write_all(&data)?;
    }
    Ok(out.finish()?.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn meta() -> DocMeta {
        DocMeta {
            title: "月度巡检报告".into(),
            subtitle: Some("基础设施".into()),
            project: "省生态环境厅政务信息化运维运营（2024年）项目".into(),
            purchaser: "广东省生态环境厅".into(),
            contractor: "某运维公司 <测试> & 合作".into(),
            period: "2025 年 11 月".into(),
            date: NaiveDate::from_ymd_opt(2025, 12, 1).unwrap(),
            version: "V1.0".into(),
            created: Utc.with_ymd_and_hms(2025, 12, 1, 1, 0, 0).unwrap(),
        }
    }

    fn part(bytes: &[u8], name: &str) -> String {
        let mut z = zip::ZipArchive::new(Cursor::new(bytes.to_vec())).unwrap();
        let mut s = String::new();
        z.by_name(name).unwrap().read_to_string(&mut s).unwrap();
        s
    }

    #[test]
    fn a_document_has_its_cover_toc_numbered_headings_repeated_headers_footer_and_properties() {
        let bytes = DocBuilder::new(&meta())
            .heading(1, "巡检概况")
            .paragraph("本月共完成巡检 60 次。")
            .heading(2, "完成情况")
            .table(
                &["对象", "计划", "完成"],
                &[vec!["机房".into(), "30".into(), "30".into()]],
                &[2, 1, 1],
            )
            .heading(1, "发现问题")
            .signatures()
            .finish()
            .unwrap();
        let doc = part(&bytes, "word/document.xml");
        for s in [
            "省生态环境厅政务信息化运维运营（2024年）项目",
            "月度巡检报告",
            "报告期间：2025 年 11 月",
            "采购单位：广东省生态环境厅",
            "2025 年 12 月 1 日",
            "目  录",
            "一、巡检概况",
            "（一）完成情况",
            "二、发现问题",
            "用户单位（签章）",
            "运维工程师",
            "项目经理",
            "监理",
        ] {
            assert!(doc.contains(s), "document.xml lacks {s}");
        }
        assert_eq!(doc.matches("<w:tblHeader").count(), 1, "one header row");
        assert!(
            !doc.contains("w:pos=\"80000\""),
            "contents tab at the margin"
        );
        // The contents are their entries with page references, without the TOC field
        // or content controls (LibreOffice prints or freezes those).
        assert!(
            !doc.contains("TOC \\o") && !doc.contains("<w:sdt>"),
            "TOC field left"
        );
        assert!(doc.contains("PAGEREF _Toc"), "entries' page references");
        assert!(
            part(&bytes, "word/settings.xml")
                .contains("<w:updateFields w:val=\"true\" /><w:compat>")
        );
        let core = part(&bytes, "docProps/core.xml");
        assert!(core.contains("<dc:title>月度巡检报告</dc:title>"), "{core}");
        assert!(
            core.contains("<dc:creator>某运维公司 &lt;测试&gt; &amp; 合作</dc:creator>"),
            "{core}"
        );
        assert!(core.contains("2025-12-01T01:00:00Z"), "{core}");
        let footers: String = (1..=2)
            .filter_map(|i| {
                let mut z = zip::ZipArchive::new(Cursor::new(bytes.clone())).ok()?;
                let mut s = String::new();
                z.by_name(&format!("word/footer{i}.xml"))
                    .ok()?
                    .read_to_string(&mut s)
                    .ok()?;
                Some(s)
            })
            .collect();
        assert!(
            footers.contains("PAGE") && footers.contains("NUMPAGES"),
            "{footers}"
        );
        assert!(
            footers.contains("第 ") && footers.contains(" 页 共 "),
            "{footers}"
        );
    }

    #[test]
    fn chinese_numerals_count_headings() {
        assert_eq!(cn_number(1), "一");
        assert_eq!(cn_number(10), "十");
        assert_eq!(cn_number(12), "十二");
        assert_eq!(cn_number(20), "二十");
        assert_eq!(cn_number(35), "三十五");
    }
}
