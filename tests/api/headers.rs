//! Response headers: the security headers on every kind of response, HSTS only behind TLS,
//! content-hashed static assets (immutable caching, gzip and brotli, ETag and 304), and
//! download file names (RFC 6266 / RFC 8187).

use std::io::Read;

use reqwest::StatusCode;
use reqwest::header::{
    ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_ENCODING, CONTENT_TYPE, COOKIE,
    ETAG, IF_NONE_MATCH, VARY,
};
use serde_json::json;

use crate::helpers::*;

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; \
frame-ancestors 'none'";

const HTMX: &[u8] = include_bytes!("../../assets/htmx.min.js");

fn assert_secure(r: &reqwest::Response, what: &str) {
    let h = r.headers();
    let get = |name: &str| {
        h.get(name)
            .unwrap_or_else(|| panic!("{what}: no {name} header"))
            .to_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(get("content-security-policy"), CSP, "{what}");
    assert_eq!(get("x-frame-options"), "DENY", "{what}");
    assert_eq!(get("x-content-type-options"), "nosniff", "{what}");
    assert_eq!(get("referrer-policy"), "same-origin", "{what}");
}

#[tokio::test]
async fn pages_api_answers_errors_and_static_files_all_carry_the_security_headers() {
    let app = spawn_app().await;
    let cookie = app.page_cookie("admin", ADMIN_PASSWORD).await;
    let cases: Vec<(&str, reqwest::RequestBuilder, StatusCode)> = vec![
        (
            "login page",
            app.client.get(app.url("/login")),
            StatusCode::OK,
        ),
        (
            "signed-in page",
            app.client.get(app.url("/")).header(COOKIE, &cookie),
            StatusCode::OK,
        ),
        (
            "redirect to login",
            app.client.get(app.url("/tickets")),
            StatusCode::SEE_OTHER,
        ),
        (
            "API JSON",
            app.client
                .get(app.url("/api/v1/me"))
                .bearer_auth(&app.admin_token),
            StatusCode::OK,
        ),
        (
            "API 401",
            app.client.get(app.url("/api/v1/me")),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "API unknown route",
            app.client
                .get(app.url("/api/v1/no-such-thing"))
                .bearer_auth(&app.admin_token),
            StatusCode::NOT_FOUND,
        ),
        (
            "page 404",
            app.client
                .get(app.url("/no/such/page"))
                .header(COOKIE, &cookie),
            StatusCode::NOT_FOUND,
        ),
        (
            "405",
            app.client.delete(app.url("/healthz")),
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        (
            "static file",
            app.client.get(app.url("/static/app.css")),
            StatusCode::OK,
        ),
        (
            "static 404",
            app.client.get(app.url("/static/nothing.js")),
            StatusCode::NOT_FOUND,
        ),
        (
            "health",
            app.client.get(app.url("/healthz")),
            StatusCode::OK,
        ),
        (
            "metrics 401",
            app.client.get(app.url("/metrics")),
            StatusCode::UNAUTHORIZED,
        ),
    ];
    for (what, req, status) in cases {
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), status, "{what}");
        assert_secure(&r, what);
        assert!(
            r.headers().get("strict-transport-security").is_none(),
            "{what}: no HSTS without secure_cookies"
        );
    }
}

#[tokio::test]
async fn hsts_is_sent_when_secure_cookies_says_the_service_is_behind_tls() {
    let app = spawn_with(Options {
        configure: Some(|c| c.security.secure_cookies = true),
        ..Options::default()
    })
    .await;
    for path in ["/login", "/api/v1/me", "/static/app.js", "/nowhere"] {
        let r = app.anon_get(path).await;
        assert_secure(&r, path);
        assert_eq!(
            r.headers()["strict-transport-security"],
            "max-age=31536000",
            "{path}"
        );
    }
}

/// The `/static/...` URL of `name` (e.g. `htmx.min`) as a page links it.
fn linked_asset(html: &str, stem: &str, ext: &str) -> String {
    let prefix = format!("/static/{stem}.");
    html.match_indices(&prefix)
        .map(|(i, _)| &html[i..i + html[i..].find('"').unwrap()])
        .find(|url| url.ends_with(&format!(".{ext}")))
        .unwrap_or_else(|| panic!("no link to {stem}.{ext} in {html}"))
        .to_string()
}

/// Asks for `url` in brotli until it comes so: the first request starts compressing it in
/// the background and is answered in gzip meanwhile.
async fn fetch_brotli(app: &TestApp, url: &str) -> Vec<u8> {
    for _ in 0..240 {
        let r = app
            .client
            .get(app.url(url))
            .header(ACCEPT_ENCODING, "gzip, deflate, br, zstd")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()[VARY], "Accept-Encoding");
        let coding = r.headers()[CONTENT_ENCODING].to_str().unwrap().to_string();
        let body = r.bytes().await.unwrap().to_vec();
        match coding.as_str() {
            "br" => return body,
            "gzip" => {
                gunzip(&body);
            }
            other => panic!("{url} came in {other}"),
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    panic!("{url} never came in brotli");
}

fn gunzip(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(b)
        .read_to_end(&mut out)
        .unwrap();
    out
}

fn unbrotli(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    brotli::Decompressor::new(b, 4096)
        .read_to_end(&mut out)
        .unwrap();
    out
}

#[tokio::test]
async fn a_hashed_asset_from_a_page_is_cached_for_good_compressed_on_request_and_revalidated_with_304()
 {
    let app = spawn_app().await;
    let cookie = app.page_cookie("admin", ADMIN_PASSWORD).await;
    let html = app.page_get(&cookie, "/").await.text().await.unwrap();
    let url = linked_asset(&html, "htmx.min", "js");
    // The name carries the first 12 hex digits of the SHA-256 of the bytes.
    use sha2::Digest;
    let digest: String = sha2::Sha256::digest(HTMX)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(url, format!("/static/htmx.min.{}.js", &digest[..12]));
    let tag = format!("\"{}\"", &digest[..12]);
    // The stylesheet and the app script are linked by hash as well.
    linked_asset(&html, "app", "css");
    linked_asset(&html, "app", "js");

    let get = |coding: &'static str| {
        app.client
            .get(app.url(&url))
            .header(ACCEPT_ENCODING, coding)
            .send()
    };
    let r = get("identity").await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.headers()[CACHE_CONTROL],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(r.headers()[ETAG].to_str().unwrap(), tag);
    assert_eq!(r.headers()[VARY], "Accept-Encoding");
    assert_eq!(r.headers()[CONTENT_TYPE], "text/javascript; charset=utf-8");
    assert!(r.headers().get(CONTENT_ENCODING).is_none());
    assert_secure(&r, "hashed asset");
    assert_eq!(r.bytes().await.unwrap(), HTMX);

    let r = get("gzip, deflate").await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()[CONTENT_ENCODING], "gzip");
    assert_eq!(r.headers()[VARY], "Accept-Encoding");
    assert_eq!(
        r.headers()[CACHE_CONTROL],
        "public, max-age=31536000, immutable"
    );
    let gz_tag = r.headers()[ETAG].to_str().unwrap().to_string();
    assert!(gz_tag.starts_with(&tag[..13]), "{gz_tag}");
    let body = r.bytes().await.unwrap();
    assert!(body.len() < HTMX.len() / 2, "gzip: {} bytes", body.len());
    assert_eq!(gunzip(&body), HTMX);

    let body = fetch_brotli(&app, &url).await;
    assert!(body.len() < HTMX.len() / 2, "br: {} bytes", body.len());
    assert_eq!(unbrotli(&body), HTMX);

    // Revalidation: 304, no body, whichever representation's tag the client kept.
    for (sent, coding) in [(tag.as_str(), "br"), (gz_tag.as_str(), "gzip"), ("*", "")] {
        let r = app
            .client
            .get(app.url(&url))
            .header(ACCEPT_ENCODING, coding)
            .header(IF_NONE_MATCH, sent)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_MODIFIED, "{sent}");
        assert!(r.headers().get(ETAG).is_some());
        assert_secure(&r, "304");
        assert!(r.bytes().await.unwrap().is_empty());
    }
    let r = app
        .client
        .get(app.url(&url))
        .header(IF_NONE_MATCH, "\"0123456789ab\"")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "a different tag gets the body");

    // Old pages link the plain name: still served, but revalidated on every use.
    let r = app.anon_get("/static/htmx.min.js").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()[CACHE_CONTROL], "no-cache");
    assert_eq!(r.headers()[ETAG].to_str().unwrap(), tag);
    assert_eq!(r.bytes().await.unwrap(), HTMX);
    let r = app
        .client
        .get(app.url("/static/htmx.min.js"))
        .header(IF_NONE_MATCH, &tag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
}

#[tokio::test]
async fn the_monitor_page_links_echarts_by_hash_and_it_is_served_compressed() {
    let app = spawn_app().await;
    let m = app
        .post_expect(
            &app.admin_token,
            "/api/v1/monitors",
            &json!({"name": "心跳", "kind": "heartbeat", "config": {"period_s": 3600}}),
            StatusCode::CREATED,
        )
        .await;
    let cookie = app.page_cookie("admin", ADMIN_PASSWORD).await;
    let html = app
        .page_get(&cookie, &format!("/monitors/{}", m["id"]))
        .await
        .text()
        .await
        .unwrap();
    let url = linked_asset(&html, "echarts.min", "js");
    linked_asset(&html, "monitor_charts", "js");
    let body = fetch_brotli(&app, &url).await;
    let plain = include_bytes!("../../assets/echarts.min.js");
    assert!(
        body.len() < plain.len() / 3,
        "ECharts in brotli: {} bytes",
        body.len()
    );
    assert_eq!(unbrotli(&body), plain);
}

#[tokio::test]
async fn a_downloaded_attachment_is_named_in_ascii_and_in_rfc_8187_utf8() {
    let app = spawn_demo().await;
    let id = created_id(
        &app,
        &app.admin_token,
        "/api/v1/tickets",
        &json!({"kind": "incident", "title": "附件名称", "system_id": 1}),
    )
    .await;
    let name = "机房巡检 记录#1(终版).txt";
    let form = file_form(name, b"ok\n".to_vec());
    let (s, a) = app
        .post_multipart(
            &app.admin_token,
            &format!("/api/v1/tickets/{id}/attachments"),
            form,
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let r = app
        .get(
            &app.admin_token,
            &format!("/api/v1/tickets/{id}/attachments/{}", a["id"]),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let cd = r.headers()[CONTENT_DISPOSITION]
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(
        cd,
        "attachment; filename=\"____ __#1(__).txt\"; filename*=UTF-8''\
         %E6%9C%BA%E6%88%BF%E5%B7%A1%E6%A3%80%20%E8%AE%B0%E5%BD%95#1%28%E7%BB%88%E7%89%88%29.txt"
    );
    let encoded = cd.split("filename*=UTF-8''").nth(1).unwrap();
    assert_eq!(
        percent_encoding::percent_decode_str(encoded)
            .decode_utf8()
            .unwrap(),
        name
    );
    // The file itself may not run anything if opened in the browser.
    assert_eq!(
        r.headers()["content-security-policy"],
        "default-src 'none'; sandbox"
    );
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");

    // Exports go through the same helper.
    let r = app
        .get(&app.admin_token, "/api/v1/tickets/export?format=csv")
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let cd = r.headers()[CONTENT_DISPOSITION].to_str().unwrap();
    assert!(
        cd.starts_with("attachment; filename=\"tickets-") && cd.ends_with(".csv\""),
        "{cd}"
    );
}
