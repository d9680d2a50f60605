//! Static assets compiled into the binary, served at `/static/{name}`.
//!
//! Each asset is also reachable at a content-hashed name (`app.3f2a9c1b0d4e.css`, the first
//! 12 hex digits of the SHA-256 of its bytes) that pages link through the `asset()` template
//! function; those URLs are cached for a year as `immutable`. The plain name keeps working for
//! pages rendered by an older build, revalidated on every use (`no-cache`). Text assets are
//! compressed once and kept in memory: gzip on the first request that accepts it, brotli
//! (best quality, seconds for ECharts) on a background thread started by the first request
//! that accepts it, which meanwhile gets gzip. The ETag is the content hash, so a
//! revalidation gets 304 without a body.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{LazyLock, OnceLock};

use axum::body::Body;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// How many hex digits of the SHA-256 go into a hashed name and the ETag.
const HASH_LEN: usize = 12;

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const REVALIDATE: &str = "no-cache";

struct Source {
    name: &'static str,
    mime: &'static str,
    body: &'static [u8],
}

const SOURCES: &[Source] = &[
    Source {
        name: "htmx.min.js",
        mime: "text/javascript; charset=utf-8",
        body: include_bytes!("../../assets/htmx.min.js"),
    },
    Source {
        name: "app.css",
        mime: "text/css; charset=utf-8",
        body: include_bytes!("../../assets/app.css"),
    },
    Source {
        name: "echarts.min.js",
        mime: "text/javascript; charset=utf-8",
        body: include_bytes!("../../assets/echarts.min.js"),
    },
    Source {
        name: "charts.js",
        mime: "text/javascript; charset=utf-8",
        body: include_bytes!("../../assets/charts.js"),
    },
    Source {
        name: "screen.css",
        mime: "text/css; charset=utf-8",
        body: include_bytes!("../../assets/screen.css"),
    },
    Source {
        name: "screen.js",
        mime: "text/javascript; charset=utf-8",
        body: include_bytes!("../../assets/screen.js"),
    },
    Source {
        name: "monitor_form.js",
        mime: "text/javascript; charset=utf-8",
        body: include_bytes!("../../assets/monitor_form.js"),
    },
    Source {
        name: "monitor_charts.js",
        mime: "text/javascript; charset=utf-8",
        body: include_bytes!("../../assets/monitor_charts.js"),
    },
    Source {
        name: "duty.js",
        mime: "text/javascript; charset=utf-8",
        body: include_bytes!("../../assets/duty.js"),
    },
    Source {
        name: "search.js",
        mime: "text/javascript; charset=utf-8",
        body: include_bytes!("../../assets/search.js"),
    },
    Source {
        name: "app.js",
        mime: "text/javascript; charset=utf-8",
        body: include_bytes!("../../assets/app.js"),
    },
];

/// A content coding the server can send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Coding {
    Identity,
    Gzip,
    Brotli,
}

impl Coding {
    fn token(self) -> &'static str {
        match self {
            Coding::Identity => "identity",
            Coding::Gzip => "gzip",
            Coding::Brotli => "br",
        }
    }
}

pub struct Asset {
    pub name: &'static str,
    pub mime: &'static str,
    pub body: &'static [u8],
    /// First `HASH_LEN` hex digits of the SHA-256 of `body`.
    pub hash: String,
    /// `stem.HASH.ext`.
    pub hashed_name: String,
    gzip: OnceLock<Option<Vec<u8>>>,
    brotli: OnceLock<Option<Vec<u8>>>,
    brotli_started: AtomicBool,
}

impl Asset {
    fn new(s: &Source) -> Asset {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(s.body);
        let mut hash: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        hash.truncate(HASH_LEN);
        Asset {
            name: s.name,
            mime: s.mime,
            body: s.body,
            hashed_name: hashed_name(s.name, &hash),
            hash,
            gzip: OnceLock::new(),
            brotli: OnceLock::new(),
            brotli_started: AtomicBool::new(false),
        }
    }

    /// Text compresses; images, fonts and archives already are.
    fn compressible(&self) -> bool {
        let essence = self.mime.split(';').next().unwrap_or_default().trim();
        essence.starts_with("text/")
            || matches!(
                essence,
                "application/json" | "application/javascript" | "image/svg+xml"
            )
    }

    /// The body in `coding`, compressed on first use; `None` when the coding does not apply
    /// to this asset or would not make it smaller.
    pub fn encoded(&self, coding: Coding) -> Option<&[u8]> {
        if !self.compressible() {
            return (coding == Coding::Identity).then_some(self.body);
        }
        let cell = match coding {
            Coding::Identity => return Some(self.body),
            Coding::Gzip => &self.gzip,
            Coding::Brotli => &self.brotli,
        };
        cell.get_or_init(|| {
            let packed = match coding {
                Coding::Gzip => gzip(self.body),
                Coding::Brotli => brotli(self.body),
                Coding::Identity => None,
            };
            if packed.is_none() {
                tracing::warn!(
                    asset = self.name,
                    coding = coding.token(),
                    "compressing asset failed"
                );
            }
            packed.filter(|p| p.len() < self.body.len())
        })
        .as_deref()
    }

    /// Like `encoded`, but without waiting for brotli: its best quality takes seconds on
    /// the 1 MB ECharts file, so the first request for it starts the work on a thread of
    /// its own and gets the next coding the client accepts (gzip takes milliseconds).
    pub fn encoded_now(&'static self, coding: Coding) -> Option<&'static [u8]> {
        if coding != Coding::Brotli || !self.compressible() {
            return self.encoded(coding);
        }
        if let Some(done) = self.brotli.get() {
            return done.as_deref();
        }
        if !self.brotli_started.swap(true, Ordering::AcqRel) {
            let started = std::thread::Builder::new()
                .name("asset-brotli".into())
                .spawn(move || {
                    self.encoded(Coding::Brotli);
                });
            if let Err(e) = started {
                tracing::warn!(asset = self.name, error = %e, "could not start compressing asset");
                self.brotli_started.store(false, Ordering::Release);
            }
        }
        None
    }

    /// The entity tag of one representation: the content hash, with the coding appended
    /// for compressed bodies (a strong tag names one exact byte sequence).
    fn etag(&self, coding: Coding) -> String {
        match coding {
            Coding::Identity => format!("\"{}\"", self.hash),
            c => format!("\"{}-{}\"", self.hash, c.token()),
        }
    }

    /// `If-None-Match` with weak comparison: any representation of this content matches.
    fn matches(&self, if_none_match: &str) -> bool {
        if_none_match.split(',').map(str::trim).any(|tag| {
            if tag == "*" {
                return true;
            }
            let tag = tag.strip_prefix("W/").unwrap_or(tag);
            let Some(opaque) = tag.strip_prefix('"').and_then(|t| t.strip_suffix('"')) else {
                return false;
            };
            opaque == self.hash
                || opaque
                    .strip_prefix(self.hash.as_str())
                    .is_some_and(|rest| rest == "-gzip" || rest == "-br")
        })
    }
}

fn gzip(body: &[u8]) -> Option<Vec<u8>> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(
        Vec::with_capacity(body.len() / 3),
        flate2::Compression::best(),
    );
    enc.write_all(body).ok()?;
    enc.finish().ok()
}

fn brotli(body: &[u8]) -> Option<Vec<u8>> {
    let params = brotli::enc::BrotliEncoderParams {
        quality: 11,
        lgwin: 22,
        mode: brotli::enc::backward_references::BrotliEncoderMode::BROTLI_MODE_TEXT,
        size_hint: body.len(),
        ..Default::default()
    };
    let mut out = Vec::with_capacity(body.len() / 4);
    brotli::BrotliCompress(&mut &body[..], &mut out, &params).ok()?;
    Some(out)
}

/// `app.css` + hash → `app.HASH.css`; `htmx.min.js` → `htmx.min.HASH.js`.
fn hashed_name(name: &str, hash: &str) -> String {
    match name.rsplit_once('.') {
        Some((stem, ext)) => format!("{stem}.{hash}.{ext}"),
        None => format!("{name}.{hash}"),
    }
}

/// If `name` looks like `stem.HEX.ext`, the plain name `stem.ext`.
fn unhashed_name(name: &str) -> Option<String> {
    let (rest, ext) = name.rsplit_once('.')?;
    let (stem, hash) = rest.rsplit_once('.')?;
    (hash.len() == HASH_LEN && hash.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| format!("{stem}.{ext}"))
}

static CATALOG: LazyLock<Vec<Asset>> = LazyLock::new(|| SOURCES.iter().map(Asset::new).collect());

pub fn find(name: &str) -> Option<&'static Asset> {
    CATALOG.iter().find(|a| a.name == name)
}

/// The URL a page links: `/static/` and the hashed name.
pub fn url(name: &str) -> Option<String> {
    find(name).map(|a| format!("/static/{}", a.hashed_name))
}

/// What a request path names: the asset, and whether the URL is the current hashed one
/// (cacheable forever). A hashed name with an old hash, from a page of an earlier build,
/// still gets today's bytes, but only with revalidation.
fn resolve(path: &str) -> Option<(&'static Asset, bool)> {
    if let Some(a) = CATALOG.iter().find(|a| a.hashed_name == path) {
        return Some((a, true));
    }
    if let Some(a) = find(path) {
        return Some((a, false));
    }
    unhashed_name(path)
        .and_then(|plain| find(&plain))
        .map(|a| (a, false))
}

/// The codings the client accepts, best first (brotli before gzip), from `Accept-Encoding`
/// with its q-values; identity is always possible as the last resort.
pub fn accepted(accept_encoding: &str) -> Vec<Coding> {
    let mut br = None;
    let mut gz = None;
    let mut star = None;
    for item in accept_encoding.split(',') {
        let mut parts = item.split(';');
        let token = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q=").or(p.trim().strip_prefix("Q=")))
            .filter_map(|v| v.trim().parse::<f32>().ok())
            .next_back()
            .unwrap_or(1.0);
        match token.as_str() {
            "br" => br = Some(q),
            "gzip" | "x-gzip" => gz = Some(q),
            "*" => star = Some(q),
            _ => {}
        }
    }
    let mut out = Vec::new();
    if br.or(star).is_some_and(|q| q > 0.0) {
        out.push(Coding::Brotli);
    }
    if gz.or(star).is_some_and(|q| q > 0.0) {
        out.push(Coding::Gzip);
    }
    out.push(Coding::Identity);
    out
}

/// `GET /static/{*path}`.
pub async fn serve(Path(path): Path<String>, headers: HeaderMap) -> Response {
    let Some((asset, current)) = resolve(&path) else {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    };
    let accept = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let wanted = accepted(accept);
    let chosen = if wanted.len() == 1 || !asset.compressible() {
        None
    } else if asset.gzip.get().is_some() {
        wanted
            .into_iter()
            .find_map(|c| asset.encoded_now(c).map(|b| (c, b)))
    } else {
        // The first gzip of an asset, once per process: off the async workers.
        tokio::task::spawn_blocking(move || {
            wanted
                .into_iter()
                .find_map(|c| asset.encoded_now(c).map(|b| (c, b)))
        })
        .await
        .ok()
        .flatten()
    };
    let (coding, body) = chosen.unwrap_or((Coding::Identity, asset.body));

    let mut h = HeaderMap::new();
    let cache = if current { IMMUTABLE } else { REVALIDATE };
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if let Ok(tag) = HeaderValue::from_str(&asset.etag(coding)) {
        h.insert(header::ETAG, tag);
    }
    if asset.compressible() {
        h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    }
    let not_modified = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| asset.matches(v));
    if not_modified {
        return (StatusCode::NOT_MODIFIED, h, Body::empty()).into_response();
    }
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(asset.mime));
    if coding != Coding::Identity {
        h.insert(
            header::CONTENT_ENCODING,
            HeaderValue::from_static(coding.token()),
        );
    }
    (h, body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_has_a_distinct_hashed_name_that_resolves_to_it() {
        for a in CATALOG.iter() {
            assert_eq!(a.hash.len(), HASH_LEN);
            assert_ne!(a.hashed_name, a.name);
            let (found, current) = resolve(&a.hashed_name).unwrap();
            assert_eq!(found.name, a.name);
            assert!(current);
            let (found, current) = resolve(a.name).unwrap();
            assert_eq!(found.name, a.name);
            assert!(!current);
        }
        assert_eq!(hashed_name("htmx.min.js", "abc"), "htmx.min.abc.js");
    }

    #[test]
    fn a_hashed_name_from_an_older_build_gets_todays_bytes_without_immutable_caching() {
        let (a, current) = resolve("app.000000000000.css").unwrap();
        assert_eq!(a.name, "app.css");
        assert!(!current);
        assert!(resolve("app.zzzzzzzzzzzz.css").is_none());
        assert!(resolve("../Cargo.toml").is_none());
    }

    #[test]
    fn brotli_is_preferred_and_refused_codings_are_not_offered() {
        assert_eq!(
            accepted("gzip, deflate, br, zstd"),
            vec![Coding::Brotli, Coding::Gzip, Coding::Identity]
        );
        assert_eq!(accepted("gzip"), vec![Coding::Gzip, Coding::Identity]);
        assert_eq!(
            accepted("br;q=0, gzip;q=0.5"),
            vec![Coding::Gzip, Coding::Identity]
        );
        assert_eq!(
            accepted("*;q=0.1, gzip;q=0"),
            vec![Coding::Brotli, Coding::Identity]
        );
        assert_eq!(accepted(""), vec![Coding::Identity]);
        assert_eq!(accepted("identity"), vec![Coding::Identity]);
    }

    #[test]
    fn if_none_match_compares_weakly_and_ignores_other_tags() {
        let a = find("app.css").unwrap();
        let h = a.hash.clone();
        assert!(a.matches(&format!("\"{h}\"")));
        assert!(a.matches(&format!("W/\"{h}\"")));
        assert!(a.matches(&format!("\"x\", \"{h}-br\"")));
        assert!(a.matches("*"));
        assert!(!a.matches("\"other\""));
        assert!(!a.matches(&format!("\"{h}-zstd\"")));
        assert!(!a.matches(&h));
    }

    #[test]
    fn compressed_bodies_are_smaller_and_decompress_to_the_original() {
        use std::io::Read;
        let a = find("app.css").unwrap();
        let gz = a.encoded(Coding::Gzip).unwrap();
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(gz)
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, a.body);
        let br = a.encoded(Coding::Brotli).unwrap();
        assert!(br.len() < a.body.len());
        let mut out = Vec::new();
        brotli::Decompressor::new(br, 4096)
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, a.body);
    }

    proptest::proptest! {
        #[test]
        fn parsing_accept_encoding_never_panics_and_always_allows_identity(s in ".{0,200}") {
            let c = accepted(&s);
            proptest::prop_assert_eq!(c.last(), Some(&Coding::Identity));
        }

        #[test]
        fn resolving_any_path_never_panics(s in ".{0,80}") {
            let _ = resolve(&s);
            let _ = unhashed_name(&s);
        }
    }
}
