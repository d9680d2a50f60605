//! Charts for the documents, drawn here and encoded as PNG: a grouped bar chart (this
//! period against the previous one per category) and a line chart (a daily trend), with
//! axes, gridlines, value labels, a legend and a title, every label in Chinese.
//!
//! Text is rasterised from a CJK font read at run time (`report_font`, else the first of
//! the usual system paths that has the glyphs, e.g. Debian's fonts-noto-cjk), loaded once.
//! Without a usable font there are no charts: the caller lists the same figures in a table
//! and says why, so that no label is ever drawn as boxes.
//!
//! The renderer is bounded whatever it is given: the size is clamped, and the series,
//! points and label lengths are capped (`MAX_*`), so hostile data cannot make it allocate
//! or loop without limit. Drawing never panics: every pixel access is clipped.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use ab_glyph::{Font as _, FontVec, GlyphId, PxScale, ScaleFont, point};

/// Most series drawn; more are dropped.
pub const MAX_SERIES: usize = 6;
/// Most categories (bars) or points (lines) per series; more are dropped.
pub const MAX_POINTS: usize = 400;
/// Longest label drawn, in characters; longer ones are cut with an ellipsis.
pub const MAX_LABEL_CHARS: usize = 40;
/// Largest font file read, in bytes (Noto Sans CJK's collection is about 20 MB).
const MAX_FONT_BYTES: u64 = 64 * 1024 * 1024;
/// The default size: a 2:1 image that fills an A4 text width at 16 cm.
pub const WIDTH: u32 = 1600;
pub const HEIGHT: u32 = 800;
const MIN_SIDE: u32 = 200;
const MAX_SIDE: u32 = 2400;

/// Every character a chart of the reports draws besides digits and the data's own names;
/// a font must have all of them to be used.
pub const REQUIRED_GLYPHS: &str = "各类对象巡检完成率对比发现问题与整改情况每日月计划任务已本上期数量个项合计机房设备应用系统其他图年（）%.…-—/?0123456789故障按优先级统P逐工单";

/// A loaded font with the glyphs the charts need.
pub struct Font {
    font: FontVec,
    /// Where it came from, for the log.
    pub source: String,
}

impl Font {
    /// Reads a font file; `index` picks a face of a `.ttc` collection. Fails, saying why,
    /// when the file cannot be read or parsed or lacks a glyph the charts need.
    pub fn load(path: &Path, index: u32) -> Result<Font, String> {
        let meta = std::fs::metadata(path).map_err(|e| format!("{}：{e}", path.display()))?;
        if meta.len() > MAX_FONT_BYTES {
            return Err(format!("{}：字体文件过大", path.display()));
        }
        let data = std::fs::read(path).map_err(|e| format!("{}：{e}", path.display()))?;
        Font::from_bytes(data, index, &format!("{}#{index}", path.display()))
    }

    pub fn from_bytes(data: Vec<u8>, index: u32, source: &str) -> Result<Font, String> {
        let font = FontVec::try_from_vec_and_index(data, index)
            .map_err(|_| format!("{source}：不是可用的字体文件"))?;
        let f = Font {
            font,
            source: source.to_string(),
        };
        if let Some(c) = f.missing(REQUIRED_GLYPHS) {
            return Err(format!("{source}：缺少中文字形（如“{c}”）"));
        }
        Ok(f)
    }

    /// The first character of `text` the font has no glyph for.
    pub fn missing(&self, text: &str) -> Option<char> {
        text.chars()
            .filter(|c| !c.is_whitespace())
            .find(|&c| self.font.glyph_id(c) == GlyphId(0))
    }

    /// The character drawn for `c`: itself, or `?` when the font lacks it (never a box).
    fn shown(&self, c: char) -> char {
        if c.is_whitespace() || self.font.glyph_id(c) != GlyphId(0) {
            c
        } else {
            '?'
        }
    }

    fn width(&self, text: &str, size: f32) -> f32 {
        let sf = self.font.as_scaled(PxScale::from(size));
        text.chars()
            .map(|c| sf.h_advance(self.font.glyph_id(self.shown(c))))
            .sum()
    }

    /// `text` cut (with an ellipsis) to at most `max_w` pixels and `MAX_LABEL_CHARS`.
    fn fit(&self, text: &str, size: f32, max_w: f32) -> String {
        let mut s: String = text
            .chars()
            .filter(|c| !c.is_control())
            .take(MAX_LABEL_CHARS)
            .collect();
        let cut = s.chars().count() < text.chars().count();
        if !cut && self.width(&s, size) <= max_w {
            return s;
        }
        loop {
            let candidate = format!("{s}…");
            if s.is_empty() || self.width(&candidate, size) <= max_w {
                return if s.is_empty() {
                    String::new()
                } else {
                    candidate
                };
            }
            s.pop();
        }
    }
}

/// The configured font, or the first usable one of the usual places, loaded once per path.
/// The error says why there is none (it goes into the document and the log).
pub fn font(configured: Option<&str>) -> Result<Arc<Font>, String> {
    type Cache = Mutex<HashMap<(PathBuf, u32), Arc<Font>>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    let explicit = configured.map(str::trim).filter(|c| !c.is_empty());
    let candidates: Vec<(PathBuf, u32)> = match explicit {
        Some(c) => vec![parse_setting(c)],
        _ => KNOWN_FONTS
            .iter()
            .map(|(p, i)| (PathBuf::from(p), *i))
            .collect(),
    };
    let mut why = Vec::new();
    for key in candidates {
        if let Ok(c) = cache.lock()
            && let Some(f) = c.get(&key)
        {
            return Ok(f.clone());
        }
        if explicit.is_none() && !key.0.exists() {
            continue;
        }
        match Font::load(&key.0, key.1) {
            Ok(f) => {
                let f = Arc::new(f);
                if let Ok(mut c) = cache.lock() {
                    c.insert(key, f.clone());
                }
                return Ok(f);
            }
            Err(e) => why.push(e),
        }
    }
    Err(if why.is_empty() {
        "未找到中文字体（请安装 fonts-noto-cjk，或以 report_font / YUNWEI_REPORT_FONT 指定字体文件）"
            .to_string()
    } else {
        format!("中文字体不可用：{}", why.join("；"))
    })
}

/// `path` or `path#index` (a face of a collection).
fn parse_setting(s: &str) -> (PathBuf, u32) {
    if let Some((p, i)) = s.rsplit_once('#')
        && let Ok(i) = i.parse::<u32>()
    {
        return (PathBuf::from(p), i);
    }
    (PathBuf::from(s), 0)
}

/// Where the usual CJK fonts are installed, with the face to use (the Simplified Chinese
/// one of Noto's collections is index 2).
const KNOWN_FONTS: &[(&str, u32)] = &[
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
    (
        "/usr/share/fonts/opentype/noto/NotoSansCJKsc-Regular.otf",
        0,
    ),
    ("/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc", 2),
    (
        "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
        2,
    ),
    ("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc", 2),
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
    ("/usr/share/fonts/wqy-microhei/wqy-microhei.ttc", 0),
    ("/usr/share/fonts/wqy-zenhei/wqy-zenhei.ttc", 0),
    ("/usr/share/fonts/truetype/arphic/uming.ttc", 0),
];

/// One series: its name in the legend and a value per category (`None`: no data).
#[derive(Clone, Debug)]
pub struct Series {
    pub name: String,
    pub values: Vec<Option<f64>>,
}

/// What a chart shows.
#[derive(Clone, Debug)]
pub struct Chart {
    pub title: String,
    /// The categories (bars) or the x positions (lines).
    pub categories: Vec<String>,
    pub series: Vec<Series>,
    /// The y axis' caption, e.g. 完成率（%）.
    pub y_label: String,
    /// Appended to value labels, e.g. `%`.
    pub unit: String,
    /// The top of the y axis (100 for rates); otherwise fitted to the data.
    pub max: Option<f64>,
    /// Pixel size; clamped to 200–2400 each side.
    pub size: (u32, u32),
}

/// A rendered chart.
#[derive(Clone, Debug)]
pub struct Png {
    pub bytes: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

const PALETTE: [[u8; 3]; MAX_SERIES] = [
    [0x44, 0x72, 0xC4],
    [0xED, 0x7D, 0x31],
    [0x70, 0xAD, 0x47],
    [0xA5, 0xA5, 0xA5],
    [0xFF, 0xC0, 0x00],
    [0x5B, 0x9B, 0xD5],
];
const WHITE: [u8; 3] = [0xFF, 0xFF, 0xFF];
const TEXT: [u8; 3] = [0x26, 0x26, 0x26];
const GRID: [u8; 3] = [0xD9, 0xD9, 0xD9];
const AXIS: [u8; 3] = [0x59, 0x59, 0x59];

/// An RGB canvas whose every access is clipped.
struct Canvas {
    w: i64,
    h: i64,
    px: Vec<u8>,
}

impl Canvas {
    fn new(w: u32, h: u32) -> Canvas {
        Canvas {
            w: i64::from(w),
            h: i64::from(h),
            px: WHITE.repeat(w as usize * h as usize),
        }
    }

    /// Mixes `color` into a pixel with coverage `a` (0–1).
    fn blend(&mut self, x: i64, y: i64, color: [u8; 3], a: f32) {
        if x < 0 || y < 0 || x >= self.w || y >= self.h || a.is_nan() || a <= 0.0 {
            return;
        }
        let a = a.min(1.0);
        let i = ((y * self.w + x) * 3) as usize;
        if let Some(p) = self.px.get_mut(i..i + 3) {
            for (d, s) in p.iter_mut().zip(color) {
                *d = (f32::from(*d) * (1.0 - a) + f32::from(s) * a).round() as u8;
            }
        }
    }

    fn rect(&mut self, x0: f32, y0: f32, x1: f32, y1: f32, color: [u8; 3]) {
        let (x0, x1) = (x0.min(x1), x0.max(x1));
        let (y0, y1) = (y0.min(y1), y0.max(y1));
        let xa = (x0.round() as i64).clamp(0, self.w);
        let xb = (x1.round() as i64).clamp(0, self.w);
        let ya = (y0.round() as i64).clamp(0, self.h);
        let yb = (y1.round() as i64).clamp(0, self.h);
        for y in ya..yb {
            for x in xa..xb {
                self.blend(x, y, color, 1.0);
            }
        }
    }

    /// An anti-aliased segment `width` pixels wide with round ends.
    fn line(&mut self, a: (f32, f32), b: (f32, f32), width: f32, color: [u8; 3]) {
        let r = width / 2.0;
        let xa = ((a.0.min(b.0) - r - 1.0).floor() as i64).clamp(0, self.w);
        let xb = ((a.0.max(b.0) + r + 1.0).ceil() as i64).clamp(0, self.w);
        let ya = ((a.1.min(b.1) - r - 1.0).floor() as i64).clamp(0, self.h);
        let yb = ((a.1.max(b.1) + r + 1.0).ceil() as i64).clamp(0, self.h);
        let (dx, dy) = (b.0 - a.0, b.1 - a.1);
        let len2 = dx * dx + dy * dy;
        for y in ya..yb {
            for x in xa..xb {
                let (px, py) = (x as f32 + 0.5, y as f32 + 0.5);
                let t = if len2 > 0.0 {
                    (((px - a.0) * dx + (py - a.1) * dy) / len2).clamp(0.0, 1.0)
                } else {
                    0.0
                };
                let (cx, cy) = (a.0 + t * dx - px, a.1 + t * dy - py);
                let d = (cx * cx + cy * cy).sqrt();
                self.blend(x, y, color, r + 0.5 - d);
            }
        }
    }

    fn dot(&mut self, c: (f32, f32), radius: f32, color: [u8; 3]) {
        self.line(c, c, radius * 2.0, color);
    }

    /// Draws `text` at `x` (its start, middle or end by `anchor`), centred on `y`.
    #[allow(clippy::too_many_arguments)]
    fn text(
        &mut self,
        font: &Font,
        text: &str,
        x: f32,
        y: f32,
        size: f32,
        anchor: Anchor,
        color: [u8; 3],
    ) {
        let scale = PxScale::from(size);
        let sf = font.font.as_scaled(scale);
        let w = font.width(text, size);
        let mut caret = match anchor {
            Anchor::Start => x,
            Anchor::Middle => x - w / 2.0,
            Anchor::End => x - w,
        };
        let baseline = y + (sf.ascent() + sf.descent()) / 2.0;
        for c in text.chars().take(MAX_LABEL_CHARS * 2) {
            let id = font.font.glyph_id(font.shown(c));
            let glyph = id.with_scale_and_position(scale, point(caret, baseline));
            caret += sf.h_advance(id);
            if let Some(og) = font.font.outline_glyph(glyph) {
                let b = og.px_bounds();
                let (ox, oy) = (b.min.x as i64, b.min.y as i64);
                og.draw(|gx, gy, cov| {
                    self.blend(ox + i64::from(gx), oy + i64::from(gy), color, cov)
                });
            }
        }
    }

    fn png(&self) -> Png {
        Png {
            bytes: encode_png(self.w as u32, self.h as u32, &self.px),
            width: self.w as u32,
            height: self.h as u32,
        }
    }
}

#[derive(Clone, Copy)]
enum Anchor {
    Start,
    Middle,
    End,
}

/// The chart's data made safe: capped, finite, non-negative.
struct Clean {
    title: String,
    categories: Vec<String>,
    series: Vec<(String, Vec<Option<f64>>)>,
    max: f64,
    step: f64,
    w: u32,
    h: u32,
}

fn clean(c: &Chart) -> Clean {
    let categories: Vec<String> = c.categories.iter().take(MAX_POINTS).cloned().collect();
    let n = categories.len();
    let series: Vec<(String, Vec<Option<f64>>)> = c
        .series
        .iter()
        .take(MAX_SERIES)
        .map(|s| {
            let mut v: Vec<Option<f64>> = s
                .values
                .iter()
                .take(n)
                .map(|v| v.filter(|x| x.is_finite()).map(|x| x.clamp(0.0, 1e12)))
                .collect();
            v.resize(n, None);
            (s.name.clone(), v)
        })
        .collect();
    let top = series
        .iter()
        .flat_map(|(_, v)| v.iter().flatten())
        .fold(0.0_f64, |a, &b| a.max(b));
    let wanted = c
        .max
        .filter(|m| m.is_finite() && *m > 0.0)
        .map_or(top, |m| m.max(top).min(1e12));
    let (max, step) = nice_axis(wanted);
    Clean {
        title: c.title.clone(),
        categories,
        series,
        max,
        step,
        w: c.size.0.clamp(MIN_SIDE, MAX_SIDE),
        h: c.size.1.clamp(MIN_SIDE, MAX_SIDE),
    }
}

/// The top of the axis and the gridline step: 1, 2, 2.5 or 5 times a power of ten, at
/// most about 5 steps; up to 5 the axis is 0–5 by 1.
pub fn nice_axis(top: f64) -> (f64, f64) {
    if !top.is_finite() || top <= 5.0 {
        return (5.0, 1.0);
    }
    let raw = top / 5.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    ((top / step).ceil() * step, step)
}

impl Chart {
    /// The chart's data as table rows, for a report that could not draw it: a row per
    /// category, its label then each series' value as labelled (`—`: no data).
    pub fn table_rows(&self) -> Vec<Vec<String>> {
        self.categories
            .iter()
            .enumerate()
            .map(|(i, cat)| {
                let mut row = vec![cat.clone()];
                row.extend(self.series.iter().map(|s| {
                    s.values
                        .get(i)
                        .copied()
                        .flatten()
                        .map_or("—".into(), |v| format_value(v, &self.unit))
                }));
                row
            })
            .collect()
    }
}

/// A value as labelled: whole numbers without decimals, others with one.
pub fn format_value(v: f64, unit: &str) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{}{unit}", v.round() as i64)
    } else {
        format!("{:.1}{unit}", v)
    }
}

/// The frame every chart shares: title, legend, y axis with gridlines; answers the plot
/// area (left, top, right, bottom) and a font size scale.
fn frame(
    cv: &mut Canvas,
    font: &Font,
    c: &Chart,
    d: &Clean,
    bars: bool,
) -> (f32, f32, f32, f32, f32) {
    let (w, h) = (d.w as f32, d.h as f32);
    let k = (w / 1600.0).min(h / 800.0).max(0.2);
    // Title.
    let ts = 46.0 * k;
    let title = font.fit(&d.title, ts, w - 40.0 * k);
    cv.text(font, &title, w / 2.0, 42.0 * k, ts, Anchor::Middle, TEXT);
    // Legend, centred under the title.
    let ls = 32.0 * k;
    let names: Vec<String> = d
        .series
        .iter()
        .map(|(n, _)| font.fit(n, ls, 300.0 * k))
        .collect();
    let key = 36.0 * k;
    let gap = 30.0 * k;
    let total: f32 = names
        .iter()
        .map(|n| key + 8.0 * k + font.width(n, ls) + gap)
        .sum::<f32>()
        - gap;
    let mut x = (w - total.max(0.0)) / 2.0;
    let ly = 100.0 * k;
    for (i, n) in names.iter().enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        if bars {
            cv.rect(x, ly - 13.0 * k, x + key, ly + 13.0 * k, color);
        } else {
            cv.line((x, ly), (x + key, ly), 4.0 * k, color);
            cv.dot((x + key / 2.0, ly), 6.0 * k, color);
        }
        x += key + 8.0 * k;
        cv.text(font, n, x, ly, ls, Anchor::Start, TEXT);
        x += font.width(n, ls) + gap;
    }
    // Plot area.
    let (left, top, right, bottom) = (150.0 * k, 175.0 * k, w - 50.0 * k, h - 100.0 * k);
    let ys = 30.0 * k;
    let ylabel = font.fit(&c.y_label, ys, w / 2.0);
    cv.text(font, &ylabel, 20.0 * k, 142.0 * k, ys, Anchor::Start, AXIS);
    let steps = (d.max / d.step).round().clamp(1.0, 20.0) as usize;
    for i in 0..=steps {
        let v = d.step * i as f64;
        let y = bottom - (v / d.max) as f32 * (bottom - top);
        if i > 0 {
            cv.rect(left, y - k, right, y + k, GRID);
        }
        cv.text(
            font,
            &format_value(v, ""),
            left - 12.0 * k,
            y,
            ys,
            Anchor::End,
            AXIS,
        );
    }
    // Axes.
    cv.rect(left - 1.5 * k, top, left + 1.5 * k, bottom, AXIS);
    cv.rect(left, bottom - 1.5 * k, right, bottom + 1.5 * k, AXIS);
    (left, top, right, bottom, k)
}

/// A grouped bar chart: one group per category, one bar per series, each labelled.
pub fn bar(font: &Font, c: &Chart) -> Png {
    let d = clean(c);
    let mut cv = Canvas::new(d.w, d.h);
    let (left, top, right, bottom, k) = frame(&mut cv, font, c, &d, true);
    let n = d.categories.len().max(1);
    let slot = (right - left) / n as f32;
    let ns = d.series.len().max(1);
    let group = slot * 0.76;
    let bw = group / ns as f32;
    let xs = 30.0 * k;
    for (ci, cat) in d.categories.iter().enumerate() {
        let x0 = left + slot * ci as f32 + (slot - group) / 2.0;
        let label = font.fit(cat, xs, slot - 6.0 * k);
        cv.text(
            font,
            &label,
            left + slot * (ci as f32 + 0.5),
            bottom + 36.0 * k,
            xs,
            Anchor::Middle,
            TEXT,
        );
        for (si, (_, values)) in d.series.iter().enumerate() {
            let Some(v) = values.get(ci).copied().flatten() else {
                continue;
            };
            let bx = x0 + bw * si as f32;
            let y = bottom - (v / d.max) as f32 * (bottom - top);
            let color = PALETTE[si % PALETTE.len()];
            cv.rect(bx + bw * 0.06, y, bx + bw * 0.94, bottom, color);
            let text = format_value(v, &c.unit);
            // The largest size up to 28 px at which the label fits over its bar.
            let mut size = 28.0 * k;
            while size > 12.0 * k && font.width(&text, size) > bw + 4.0 * k {
                size -= 2.0 * k;
            }
            if font.width(&text, size) <= bw + 4.0 * k {
                cv.text(
                    font,
                    &text,
                    bx + bw / 2.0,
                    y - 18.0 * k,
                    size,
                    Anchor::Middle,
                    TEXT,
                );
            }
        }
    }
    cv.png()
}

/// A line chart: one line per series over the categories, points marked and labelled
/// where there is room, x labels thinned to fit.
pub fn line(font: &Font, c: &Chart) -> Png {
    let d = clean(c);
    let mut cv = Canvas::new(d.w, d.h);
    let (left, top, right, bottom, k) = frame(&mut cv, font, c, &d, false);
    let n = d.categories.len();
    let pad = 30.0 * k;
    let x_of = |i: usize| {
        if n <= 1 {
            (left + right) / 2.0
        } else {
            left + pad + (right - left - 2.0 * pad) * i as f32 / (n - 1) as f32
        }
    };
    let spacing = if n <= 1 {
        right - left
    } else {
        (right - left - 2.0 * pad) / (n - 1) as f32
    };
    let xs = 28.0 * k;
    let widest = d
        .categories
        .iter()
        .map(|s| font.width(&font.fit(s, xs, 200.0 * k), xs))
        .fold(0.0_f32, f32::max);
    let every = ((widest + 12.0 * k) / spacing.max(1.0)).ceil().max(1.0) as usize;
    for (i, cat) in d.categories.iter().enumerate() {
        if i % every == 0 {
            let label = font.fit(cat, xs, 200.0 * k);
            cv.text(
                font,
                &label,
                x_of(i),
                bottom + 36.0 * k,
                xs,
                Anchor::Middle,
                TEXT,
            );
            cv.rect(x_of(i) - k, bottom, x_of(i) + k, bottom + 8.0 * k, AXIS);
        }
    }
    let y_of = |v: f64| bottom - (v / d.max) as f32 * (bottom - top);
    for (si, (_, values)) in d.series.iter().enumerate() {
        let color = PALETTE[si % PALETTE.len()];
        for i in 1..n {
            if let (Some(Some(a)), Some(Some(b))) = (values.get(i - 1), values.get(i)) {
                cv.line((x_of(i - 1), y_of(*a)), (x_of(i), y_of(*b)), 4.0 * k, color);
            }
        }
        let marks = spacing >= 10.0 * k;
        let vs = 24.0 * k;
        for (i, v) in values.iter().enumerate() {
            let Some(v) = *v else { continue };
            let p = (x_of(i), y_of(v));
            if marks {
                cv.dot(p, 6.0 * k, color);
            }
            let text = format_value(v, &c.unit);
            // Zeros are left unlabelled: the axis shows them, and a month of zeros
            // would bury the figures that matter.
            if v > 0.0 && font.width(&text, vs) + 4.0 * k <= spacing {
                // Even series above their points, odd ones below, so two lines' labels
                // do not overlap where they meet.
                let dy = if si % 2 == 0 { -26.0 } else { 26.0 } * k;
                cv.text(font, &text, p.0, p.1 + dy, vs, Anchor::Middle, color);
            }
        }
    }
    cv.png()
}

/// A PNG of 8-bit RGB rows: signature, IHDR, one zlib IDAT, IEND.
fn encode_png(w: u32, h: u32, rgb: &[u8]) -> Vec<u8> {
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        let mut crc = flate2::Crc::new();
        crc.update(kind);
        crc.update(data);
        out.extend_from_slice(&crc.sum().to_be_bytes());
    }
    let stride = w as usize * 3;
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    for row in rgb.chunks(stride.max(1)).take(h as usize) {
        // Filter type 0 (none): the flat colours of a chart compress well as they are.
        let _ = z.write_all(&[0]);
        let _ = z.write_all(row);
    }
    let idat = z.finish().unwrap_or_default();
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &idat);
    chunk(&mut out, b"IEND", &[]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::io::Read;

    fn test_font() -> Option<Arc<Font>> {
        match font(None) {
            Ok(f) => Some(f),
            Err(e) => {
                assert!(
                    std::env::var("CI").is_err(),
                    "a CJK font (fonts-noto-cjk) is installed in CI: {e}"
                );
                eprintln!("skipping: {e}");
                None
            }
        }
    }

    /// Decodes our own PNGs (filter 0, RGB) back to pixels, checking every CRC.
    fn decode(png: &[u8]) -> (u32, u32, Vec<u8>) {
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
        let mut i = 8;
        let (mut w, mut h, mut idat) = (0, 0, Vec::new());
        while i < png.len() {
            let len = u32::from_be_bytes(png[i..i + 4].try_into().unwrap()) as usize;
            let kind = &png[i + 4..i + 8];
            let data = &png[i + 8..i + 8 + len];
            let mut crc = flate2::Crc::new();
            crc.update(kind);
            crc.update(data);
            let want = u32::from_be_bytes(png[i + 8 + len..i + 12 + len].try_into().unwrap());
            assert_eq!(crc.sum(), want, "CRC of {:?}", std::str::from_utf8(kind));
            match kind {
                b"IHDR" => {
                    w = u32::from_be_bytes(data[0..4].try_into().unwrap());
                    h = u32::from_be_bytes(data[4..8].try_into().unwrap());
                    assert_eq!(&data[8..], &[8, 2, 0, 0, 0]);
                }
                b"IDAT" => idat.extend_from_slice(data),
                b"IEND" => assert_eq!(i + 12 + len, png.len(), "IEND is last"),
                _ => {}
            }
            i += 12 + len;
        }
        let mut raw = Vec::new();
        flate2::read::ZlibDecoder::new(&idat[..])
            .read_to_end(&mut raw)
            .unwrap();
        assert_eq!(raw.len(), (w as usize * 3 + 1) * h as usize);
        let px = raw
            .chunks(w as usize * 3 + 1)
            .flat_map(|r| {
                assert_eq!(r[0], 0);
                r[1..].to_vec()
            })
            .collect();
        (w, h, px)
    }

    fn sample() -> Chart {
        Chart {
            title: "各类对象巡检完成率对比".into(),
            categories: vec!["机房".into(), "设备".into(), "应用系统".into()],
            series: vec![
                Series {
                    name: "本期".into(),
                    values: vec![Some(100.0), Some(66.7), Some(90.0)],
                },
                Series {
                    name: "上期".into(),
                    values: vec![Some(95.0), None, Some(80.0)],
                },
            ],
            y_label: "完成率（%）".into(),
            unit: "%".into(),
            max: Some(100.0),
            size: (WIDTH, HEIGHT),
        }
    }

    #[test]
    fn the_png_encoder_round_trips_pixels() {
        let mut cv = Canvas::new(7, 3);
        cv.rect(1.0, 1.0, 3.0, 2.0, [1, 2, 3]);
        let png = cv.png();
        let (w, h, px) = decode(&png.bytes);
        assert_eq!((w, h), (7, 3));
        assert_eq!(px, cv.px);
        assert_eq!(&px[(7 + 1) * 3..(7 + 1) * 3 + 3], &[1, 2, 3]);
        assert_eq!(&px[0..3], &WHITE);
    }

    #[test]
    fn nice_axes_round_up_to_friendly_steps() {
        assert_eq!(nice_axis(100.0), (100.0, 20.0));
        assert_eq!(nice_axis(3.0), (5.0, 1.0));
        assert_eq!(nice_axis(0.0), (5.0, 1.0));
        assert_eq!(nice_axis(37.0), (40.0, 10.0));
        assert_eq!(nice_axis(12.0), (12.5, 2.5));
        assert_eq!(format_value(66.7, "%"), "66.7%");
        assert_eq!(format_value(3.0, ""), "3");
    }

    #[test]
    fn a_bar_chart_is_a_png_of_its_size_with_bars_in_the_series_colours() {
        let Some(f) = test_font() else { return };
        let png = bar(&f, &sample());
        assert_eq!((png.width, png.height), (WIDTH, HEIGHT));
        let (w, h, px) = decode(&png.bytes);
        assert_eq!((w, h), (WIDTH, HEIGHT));
        let count = |c: [u8; 3]| px.chunks(3).filter(|p| *p == c).count();
        assert!(count(PALETTE[0]) > 10_000, "bars of the first series");
        assert!(count(PALETTE[1]) > 10_000, "bars of the second series");
        assert_eq!(count(PALETTE[2]), 0, "no third series");
    }

    #[test]
    fn a_label_drawn_changes_the_pixels_in_its_box() {
        let Some(f) = test_font() else { return };
        for text in ["巡检完成率", "本期", "上期", "66.7%"] {
            let mut cv = Canvas::new(400, 100);
            cv.text(&f, text, 200.0, 50.0, 40.0, Anchor::Middle, TEXT);
            let w = f.width(text, 40.0);
            let (x0, x1) = ((200.0 - w / 2.0) as i64, (200.0 + w / 2.0) as i64);
            let mut inside = 0;
            let mut outside = 0;
            for y in 0..100i64 {
                for x in 0..400i64 {
                    let i = ((y * 400 + x) * 3) as usize;
                    if cv.px[i..i + 3] != WHITE {
                        if (x0 - 2..=x1 + 2).contains(&x) && (20..80).contains(&y) {
                            inside += 1;
                        } else {
                            outside += 1;
                        }
                    }
                }
            }
            assert!(inside > 100, "{text}: {inside} pixels inked");
            assert_eq!(outside, 0, "{text}: ink outside its box");
        }
        // Distinct characters give distinct pixels: glyphs, not one box shape.
        let draw = |t: &str| {
            let mut cv = Canvas::new(60, 60);
            cv.text(&f, t, 30.0, 30.0, 40.0, Anchor::Middle, TEXT);
            cv.px
        };
        assert_ne!(draw("巡"), draw("检"));
        assert_ne!(
            draw("巡"),
            draw("\u{10FFFD}"),
            "a missing glyph is not drawn as 巡"
        );
    }

    #[test]
    fn the_font_covers_every_label_the_reports_use() {
        let Some(f) = test_font() else { return };
        assert_eq!(f.missing(REQUIRED_GLYPHS), None);
        assert!(f.source.contains("NotoSansCJK") || !f.source.is_empty());
        // A face with no CJK glyphs is refused with the reason.
        if let Ok(data) = std::fs::read("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf") {
            let e = Font::from_bytes(data, 0, "DejaVuSans").err().unwrap();
            assert!(e.contains("缺少中文字形"), "{e}");
        }
        let e = Font::from_bytes(b"not a font".to_vec(), 0, "x")
            .err()
            .unwrap();
        assert!(e.contains("不是可用的字体文件"), "{e}");
        let e = font(Some("/nonexistent/font.ttc#2")).err().unwrap();
        assert!(e.contains("/nonexistent/font.ttc"), "{e}");
        assert!(
            !e.contains("ttc#2"),
            "the face index is not part of the path: {e}"
        );
        assert_eq!(parse_setting("/a/b.ttc#3"), (PathBuf::from("/a/b.ttc"), 3));
        assert_eq!(parse_setting("/a/#b.ttf"), (PathBuf::from("/a/#b.ttf"), 0));
    }

    #[test]
    fn a_line_chart_draws_its_lines_and_thins_its_labels() {
        let Some(f) = test_font() else { return };
        let days: Vec<String> = (1..=31).map(|d| format!("{d}日")).collect();
        let c = Chart {
            title: "每日巡检完成情况".into(),
            categories: days,
            series: vec![
                Series {
                    name: "计划任务".into(),
                    values: (0..31).map(|i| Some(f64::from(i % 4 + 2))).collect(),
                },
                Series {
                    name: "已完成".into(),
                    values: (0..31).map(|i| Some(f64::from(i % 3))).collect(),
                },
            ],
            y_label: "任务数（个）".into(),
            unit: String::new(),
            max: None,
            size: (WIDTH, HEIGHT),
        };
        let png = line(&f, &c);
        let (w, h, px) = decode(&png.bytes);
        assert_eq!((w, h), (WIDTH, HEIGHT));
        let count = |c: [u8; 3]| px.chunks(3).filter(|p| *p == c).count();
        assert!(count(PALETTE[0]) > 2_000 && count(PALETTE[1]) > 2_000);
    }

    fn any_chart() -> impl Strategy<Value = Chart> {
        let value = prop_oneof![
            Just(None),
            any::<f64>().prop_map(Some),
            (0.0..1e4f64).prop_map(Some),
            Just(Some(f64::NAN)),
            Just(Some(f64::INFINITY)),
            Just(Some(-5.0)),
        ];
        (
            ".{0,120}",
            prop::collection::vec(".{0,60}", 0..80),
            prop::collection::vec((".{0,50}", prop::collection::vec(value, 0..90)), 0..9),
            prop_oneof![Just(None), any::<f64>().prop_map(Some)],
            (0u32..5000, 0u32..5000),
        )
            .prop_map(|(title, categories, series, max, size)| Chart {
                title,
                categories,
                series: series
                    .into_iter()
                    .map(|(name, values)| Series { name, values })
                    .collect(),
                y_label: "数量（个）".into(),
                unit: "%".into(),
                max,
                size,
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
        #[test]
        fn arbitrary_charts_never_panic_and_are_bounded_pngs(c in any_chart(), as_line in any::<bool>()) {
            let Some(f) = test_font() else { return Ok(()) };
            let png = if as_line { line(&f, &c) } else { bar(&f, &c) };
            prop_assert!(png.bytes.starts_with(b"\x89PNG\r\n\x1a\n"));
            prop_assert!((MIN_SIDE..=MAX_SIDE).contains(&png.width));
            prop_assert!((MIN_SIDE..=MAX_SIDE).contains(&png.height));
            let (w, h, _) = decode(&png.bytes);
            prop_assert_eq!((w, h), (png.width, png.height));
        }
    }
}
