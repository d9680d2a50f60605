//! The monitor form with fields per probe kind: monitors created through the page for the
//! http, tcp and dns kinds (and the upstream picker), bad input answered in Chinese next
//! to its field with nothing created, a failed probe shown in Chinese with the original
//! error in the detail, the charts' empty states, and the form driven in Chromium; the
//! edit form filled from a stored monitor, its secrets kept when left empty and never
//! shown.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::browser::Driver;
use crate::helpers::*;

async fn post_monitor_form(
    app: &TestApp,
    cookie: &str,
    form: &[(&str, &str)],
) -> (StatusCode, String, String) {
    post_form(app, cookie, "/monitors", form).await
}

fn id_from(loc: &str) -> i64 {
    loc.rsplit('/').next().unwrap().parse().unwrap()
}

/// Creates a monitor through the form, expecting the redirect to it: its id and what the
/// API then answers for it.
async fn created_through_form(app: &TestApp, cookie: &str, form: &[(&str, &str)]) -> (i64, Value) {
    let (s, loc, body) = post_monitor_form(app, cookie, form).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    let id = id_from(&loc);
    let (_, m) = app
        .get_json(&app.admin_token, &format!("/api/v1/monitors/{id}"))
        .await;
    (id, m)
}

/// Posts the form expecting it back with its errors (422): the page.
async fn refused_form(app: &TestApp, cookie: &str, form: &[(&str, &str)]) -> String {
    let (s, _, html) = post_monitor_form(app, cookie, form).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    html
}

/// Creates a monitor through the API as admin: its id.
async fn monitor_via_api(app: &TestApp, body: &Value) -> i64 {
    created_id(app, &app.admin_token, "/api/v1/monitors", body).await
}

#[tokio::test]
async fn http_tcp_and_dns_monitors_are_created_through_the_field_form() {
    let app = spawn_app().await;
    let c = app.page_cookie("admin", ADMIN_PASSWORD).await;
    let port = free_port().to_string();

    // tcp: the upstream of the others, through its field.
    let target = format!("127.0.0.1:{port}");
    let (tcp, m) = created_through_form(
        &app,
        &c,
        &[
            ("name", "核心交换机端口"),
            ("kind", "tcp"),
            ("target", &target),
            ("tcp.max_latency_ms", "500"),
            ("http.keyword", "不读"),
        ],
    )
    .await;
    assert_eq!(m["config"]["max_latency_ms"], 500, "{m}");
    assert!(
        m["config"].get("keyword").is_none(),
        "another kind's field is not read: {m}"
    );

    // The form's upstream picker lists it by name.
    let (_, html) = app.page(&c, "/monitors/new").await;
    assert!(
        html.contains("核心交换机端口（TCP 端口，127.0.0.1:"),
        "{html}"
    );
    assert!(
        html.contains("id=\"kind-snmp\"") && html.contains("name=\"snmp.auth_password\""),
        "every kind has its fieldset"
    );

    // http with method, status, keyword, headers and TLS options, behind the switch.
    let url = format!("http://127.0.0.1:{port}/portal");
    let dep = tcp.to_string();
    let (_, m) = created_through_form(
        &app,
        &c,
        &[
            ("name", "门户首页"),
            ("kind", "http"),
            ("target", &url),
            ("depends_on", &dep),
            ("http.method", "HEAD"),
            ("http.expected_status", "200, 301"),
            ("http.keyword", "欢迎"),
            ("http.headers", "X-Probe: yunwei\nAccept：text/html"),
            ("http.verify_tls", "false"),
            ("http.cert_expiry_warn_days", "30"),
        ],
    )
    .await;
    assert_eq!(m["depends_on"], tcp, "{m}");
    let cfg = &m["config"];
    assert_eq!(cfg["method"], "HEAD", "{m}");
    assert_eq!(cfg["expected_status"], json!([200, 301]));
    assert_eq!(cfg["keyword"], "欢迎");
    assert_eq!(
        cfg["headers"],
        json!({"X-Probe": "yunwei", "Accept": "text/html"})
    );
    assert_eq!(cfg["verify_tls"], false);
    assert_eq!(cfg["cert_expiry_warn_days"], 30);

    // dns with server, record type and expected answers.
    let (_, m) = created_through_form(
        &app,
        &c,
        &[
            ("name", "门户域名"),
            ("kind", "dns"),
            ("target", "www.example.gov.cn"),
            ("dns.server", "127.0.0.1:5353"),
            ("dns.record_type", "AAAA"),
            ("dns.expected", "::1，fe80::1"),
        ],
    )
    .await;
    assert_eq!(m["config"]["server"], "127.0.0.1:5353", "{m}");
    assert_eq!(m["config"]["record_type"], "AAAA");
    assert_eq!(m["config"]["expected"], json!(["::1", "fe80::1"]));
}

#[tokio::test]
async fn bad_input_comes_back_in_chinese_next_to_its_field_and_creates_nothing() {
    let app = spawn_app().await;
    let c = app.page_cookie("admin", ADMIN_PASSWORD).await;
    let before = app.total("/api/v1/monitors").await;

    // A field the form cannot read: the message under that field.
    let html = refused_form(
        &app,
        &c,
        &[
            ("name", "门户"),
            ("kind", "http"),
            ("target", "http://127.0.0.1/"),
            ("http.expected_status", "200, 二百"),
        ],
    )
    .await;
    let at = html
        .find("id=\"err-http-expected_status\"")
        .expect("error under the status field");
    assert!(html[at..].contains("不是整数"), "{html}");
    assert!(
        html.contains("value=\"200, 二百\""),
        "what was typed is kept"
    );

    // The service's rules: each message next to its field.
    let html = refused_form(
        &app,
        &c,
        &[
            ("name", "域名"),
            ("kind", "dns"),
            ("target", "www.example.gov.cn"),
            ("dns.server", "不是地址"),
            ("interval_s", "0"),
        ],
    )
    .await;
    let at = html
        .find("id=\"err-dns-server\"")
        .expect("error under the DNS server field");
    assert!(html[at..].contains("DNS 服务器应为 IP 地址"), "{html}");
    assert!(html.contains("id=\"err-interval_s\""), "{html}");
    assert!(html.contains("有 2 处需要修改"), "{html}");

    let html = refused_form(
        &app,
        &c,
        &[("name", "端口"), ("kind", "tcp"), ("target", "没有端口")],
    )
    .await;
    let at = html
        .find("id=\"err-target\"")
        .expect("error under the target");
    assert!(html[at..].contains("TCP 目标应为 主机:端口"), "{html}");

    // An SNMPv3 password too short: the error is under its field, the password not sent back.
    let html = refused_form(
        &app,
        &c,
        &[
            ("name", "交换机"),
            ("kind", "snmp"),
            ("target", "127.0.0.1"),
            ("snmp.version", "3"),
            ("snmp.username", "yw-monitor"),
            ("snmp.security_level", "authNoPriv"),
            ("snmp.auth_protocol", "SHA"),
            ("snmp.auth_password", "short"),
            ("snmp.if_indexes", "1, 2"),
        ],
    )
    .await;
    let at = html
        .find("id=\"err-snmp-auth_password\"")
        .expect("error under the password");
    assert!(html[at..].contains("至少 8 个字符"), "{html}");
    assert!(
        html.contains("yw-monitor") && !html.contains("value=\"short\""),
        "{html}"
    );

    assert_eq!(app.total("/api/v1/monitors").await, before);
}

#[tokio::test]
async fn a_failed_probe_reads_in_chinese_with_the_original_error_in_the_detail() {
    let app = spawn_app().await;
    let c = app.page_cookie("admin", ADMIN_PASSWORD).await;
    let (s, m) = app
        .post(
            &app.admin_token,
            "/api/v1/monitors",
            &json!({"name": "已关闭端口", "kind": "tcp", "target": format!("127.0.0.1:{}", free_port())}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{m}");
    let id = m["id"].as_i64().unwrap();
    let (s, v) = app
        .post(
            &app.admin_token,
            &format!("/api/v1/monitors/{id}/check"),
            &json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, html) = app.page(&c, &format!("/monitors/{id}")).await;
    assert!(html.contains("目标拒绝连接"), "{html}");
    let detail = html
        .find("原始错误")
        .expect("the original error in a detail");
    assert!(html[detail..].contains("Connection refused"), "{html}");
    // The latency chart has a failure marker (no latency); the 30-day chart says why it
    // is empty: no hour has been rolled up yet.
    assert!(html.contains("id=\"latency-chart\""), "{html}");
    assert!(
        html.contains(", null, false, "),
        "a failure has no latency: {html}"
    );
    assert!(html.contains("还没有按小时汇总的数据"), "{html}");

    // A paused monitor without results says so instead of an empty box.
    let (_, p) = app
        .post(
            &app.admin_token,
            "/api/v1/monitors",
            &json!({"name": "暂停的", "kind": "tcp", "target": "127.0.0.1:9", "paused": true}),
        )
        .await;
    let (_, html) = app.page(&c, &format!("/monitors/{}", p["id"])).await;
    assert!(
        html.contains("id=\"latency-empty\"") && html.contains("监控已暂停"),
        "{html}"
    );
    assert!(html.contains("id=\"daily-empty\""), "{html}");
}

#[tokio::test]
async fn a_monitor_is_created_through_the_field_form_in_the_browser() {
    let app = spawn_app().await;
    let Some(d) = Driver::start().await else {
        return;
    };
    d.sign_in(&app.base, "admin", ADMIN_PASSWORD).await;
    d.goto(&app.url("/monitors/new")).await;
    d.wait_text("h1", "新建监控").await;
    // Only the chosen kind's fields show.
    let hidden = d
        .exec("return [document.getElementById('kind-http').hidden, document.getElementById('kind-dns').hidden];")
        .await;
    assert_eq!(hidden, json!([false, true]));
    // SNMP shows the community for v2c and the v3 user's fields for v3.
    d.click("#kind option[value='snmp']").await;
    let shown = "return [document.getElementById('snmp-community').closest('label').hidden, document.getElementById('snmp-username').closest('label').hidden];";
    assert_eq!(d.exec(shown).await, json!([false, true]));
    d.click("#snmp-version option[value='3']").await;
    assert_eq!(d.exec(shown).await, json!([true, false]));
    d.click("#kind option[value='dns']").await;
    let hidden = d
        .exec("return [document.getElementById('kind-http').hidden, document.getElementById('kind-dns').hidden, document.getElementById('target').placeholder];")
        .await;
    assert_eq!(hidden[0], true, "{hidden}");
    assert_eq!(hidden[1], false, "{hidden}");
    assert!(hidden[2].as_str().unwrap().contains("域名"), "{hidden}");
    d.type_into("#name", "政务网域名").await;
    d.type_into("#target", "www.example.gov.cn").await;
    d.type_into("#dns-server", "127.0.0.1:5353").await;
    d.click("#dns-record_type option[value='A']").await;
    d.type_into("#dns-expected", "10.0.0.5, 10.0.0.6").await;
    d.screenshot("monitor-form").await;
    d.click("#save-monitor").await;
    d.wait_text("h1", "政务网域名").await;
    d.screenshot("monitor-form-created").await;
    d.assert_no_csp_violations("on the monitor form").await;
    let (_, list) = app
        .get_json(&app.admin_token, "/api/v1/monitors?kind=dns")
        .await;
    let m = &list["items"][0];
    assert_eq!(
        m["config"]["expected"],
        json!(["10.0.0.5", "10.0.0.6"]),
        "{m}"
    );
    assert_eq!(m["config"]["server"], "127.0.0.1:5353");
    d.quit().await;
}

#[tokio::test]
async fn the_latency_chart_marks_failures_and_reads_beijing_time_in_another_time_zone() {
    let app = spawn_app().await;
    // One successful check against a listener, then one refused after it closes.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let (_, m) = app
        .post(
            &app.admin_token,
            "/api/v1/monitors",
            &json!({"name": "先好后坏", "kind": "tcp", "target": format!("127.0.0.1:{port}")}),
        )
        .await;
    let id = m["id"].as_i64().unwrap();
    let path = format!("/api/v1/monitors/{id}/check");
    let (s, v) = app.post(&app.admin_token, &path, &json!({})).await;
    assert_eq!((s, v["ok"].clone()), (StatusCode::OK, json!(true)), "{v}");
    drop(l);
    app.clock.advance(chrono::Duration::seconds(61));
    let (s, v) = app.post(&app.admin_token, &path, &json!({})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, results) = app
        .get_json(&app.admin_token, &format!("/api/v1/monitors/{id}/results"))
        .await;
    let failed_at = each(&results["items"])
        .find(|r| r["ok"] == false)
        .unwrap_or_else(|| panic!("a failed result: {results}"))["at"]
        .as_str()
        .unwrap()
        .to_string();
    let beijing = chrono::DateTime::parse_from_rfc3339(&failed_at)
        .unwrap()
        .with_timezone(&yunwei::clock::beijing())
        .format("%H:%M:%S")
        .to_string();

    let Some(d) = Driver::start().await else {
        return;
    };
    // The browser in New York: the chart must still read Beijing time.
    d.cmd(
        reqwest::Method::POST,
        "/goog/cdp/execute",
        json!({"cmd": "Emulation.setTimezoneOverride", "params": {"timezoneId": "America/New_York"}}),
    )
    .await;
    d.sign_in(&app.base, "admin", ADMIN_PASSWORD).await;
    d.goto(&app.url(&format!("/monitors/{id}"))).await;
    d.wait_text("#last-check", "目标拒绝连接").await;
    let mut v = json!(null);
    for _ in 0..40 {
        v = d
            .exec(
                "var el = document.getElementById('latency-chart');
                 var c = window.echarts && echarts.getInstanceByDom(el);
                 if (!c) { return null; }
                 var o = c.getOption(); var bad = o.series[1].data[0];
                 return [o.useUTC, o.series[0].data.length, o.series[1].data.length,
                         o.xAxis[0].axisLabel.formatter(bad[0]), bad[1], bad[2], new Date().getTimezoneOffset()];",
            )
            .await;
        if !v.is_null() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert_eq!(v[0], true, "{v}");
    assert_eq!(
        (v[1].as_i64(), v[2].as_i64()),
        (Some(1), Some(1)),
        "one latency, one failure: {v}"
    );
    assert_eq!(
        v[3],
        json!(beijing),
        "the axis reads Beijing time, with seconds over a short span: {v}"
    );
    assert_eq!(v[4], 0, "a failure sits on the axis, not at a latency: {v}");
    assert!(v[5].as_str().unwrap().contains("目标拒绝连接"), "{v}");
    assert!(
        [240, 300].contains(&v[6].as_i64().unwrap()),
        "the browser runs in New York: {v}"
    );
    // The original error is one click away.
    d.click("#last-check details summary").await;
    d.wait_text("#last-check details", "Connection refused")
        .await;
    d.screenshot("monitor-detail-failure").await;
    d.assert_no_csp_violations("on the monitor page with a failure")
        .await;
    d.quit().await;
}

/// The edit form's fields as a browser would send them back, from the page's HTML: every
/// `<input>`, `<select>` (its selected option) and `<textarea>` of the monitor form, of
/// the monitor's kind only (the other kinds' fieldsets are disabled by the script).
fn form_fields(html: &str, kind: &str) -> Vec<(String, String)> {
    let start = html.find("id=\"monitor-form\"").expect("the monitor form");
    let end = start + html[start..].find("</form>").expect("form end");
    let form = &html[start..end];
    let attr = |tag: &str, name: &str| -> Option<String> {
        let at = tag.find(&format!(" {name}=\""))? + name.len() + 3;
        Some(tag[at..at + tag[at..].find('"')?].to_string())
    };
    let unescape = |s: &str| {
        s.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&#x27;", "'")
            .replace("&#x2f;", "/")
            .replace("&amp;", "&")
    };
    let mut out = Vec::new();
    let mut rest = form;
    while let Some(i) = rest.find('<') {
        rest = &rest[i..];
        let close = rest.find('>').unwrap_or(rest.len());
        let tag = &rest[..close];
        let name = attr(tag, "name");
        let skip = name
            .as_deref()
            .is_some_and(|n| n.split_once('.').is_some_and(|(k, _)| k != kind));
        if let (Some(name), false) = (name, skip) {
            if tag.starts_with("<input") {
                out.push((name, unescape(&attr(tag, "value").unwrap_or_default())));
            } else if tag.starts_with("<textarea") {
                let body = &rest[close + 1..];
                let text = &body[..body.find("</textarea>").unwrap()];
                out.push((name, unescape(text)));
            } else if tag.starts_with("<select") {
                let body = &rest[close + 1..];
                let body = &body[..body.find("</select>").unwrap()];
                let value = body
                    .split("<option")
                    .find(|o| o.contains(" selected"))
                    .and_then(|o| attr(o, "value"))
                    .unwrap_or_default();
                out.push((name, unescape(&value)));
            }
        }
        rest = &rest[1..];
    }
    out
}

fn with(fields: &[(String, String)], changes: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = fields
        .iter()
        .filter(|(k, _)| !changes.iter().any(|(c, _)| c == k))
        .cloned()
        .collect();
    out.extend(changes.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    out
}

async fn post_edit(
    app: &TestApp,
    cookie: &str,
    id: i64,
    fields: &[(String, String)],
) -> (StatusCode, String, String) {
    let pairs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    post_form(app, cookie, &format!("/monitors/{id}/edit"), &pairs).await
}

/// `post_edit`, asserting that the form saved (a redirect to the monitor).
async fn save_edit(app: &TestApp, cookie: &str, id: i64, fields: &[(String, String)]) {
    let (s, _, body) = post_edit(app, cookie, id, fields).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
}

async fn api_monitor(app: &TestApp, id: i64) -> serde_json::Value {
    let (s, m) = app
        .get_json(&app.admin_token, &format!("/api/v1/monitors/{id}"))
        .await;
    assert_eq!(s, StatusCode::OK, "{m}");
    m
}

/// The stored secret of a monitor, decrypted.
async fn stored_secret(app: &TestApp, id: i64) -> Option<String> {
    let m = app.ctx.store.monitor(id).await.unwrap();
    m.secret_enc.map(|e| app.ctx.secrets.decrypt(&e).unwrap())
}

#[tokio::test]
async fn an_http_monitor_opens_filled_in_and_its_edit_changes_the_keyword_and_clears_the_headers() {
    let app = spawn_app().await;
    let c = app.page_cookie("admin", ADMIN_PASSWORD).await;
    let (_, up) = app
        .post(
            &app.admin_token,
            "/api/v1/monitors",
            &json!({"name": "核心交换机", "kind": "tcp", "target": "127.0.0.1:9"}),
        )
        .await;
    let id = monitor_via_api(
        &app,
        &json!({"name": "门户首页", "kind": "http", "target": "http://127.0.0.1:9/portal",
                    "interval_s": 120, "priority": "P1", "depends_on": up["id"],
                    "config": {"keyword": "欢迎", "expected_status": [200, 301],
                               "headers": {"X-Probe": "yunwei", "Accept": "text/html"}}}),
    )
    .await;

    // The detail page links to the edit form.
    let (_, detail) = app.page(&c, &format!("/monitors/{id}")).await;
    assert!(
        detail.contains(&format!("href=\"/monitors/{id}/edit\"")) && detail.contains("编辑"),
        "{detail}"
    );
    let (s, html) = app.page(&c, &format!("/monitors/{id}/edit")).await;
    assert_eq!(s, StatusCode::OK, "{html}");
    assert!(html.contains("<h1>编辑监控</h1>"), "{html}");
    assert!(html.contains(">保存修改</button>"), "{html}");
    assert!(
        html.contains(&format!("action=\"/monitors/{id}/edit\"")),
        "{html}"
    );
    let fields = form_fields(&html, "http");
    let get = |k: &str| {
        fields
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("{k} in {fields:?}"))
    };
    assert_eq!(get("name"), "门户首页");
    assert_eq!(get("kind"), "http");
    assert_eq!(get("target"), "http://127.0.0.1:9/portal");
    assert_eq!(get("interval_s"), "120");
    assert_eq!(get("priority"), "P1");
    assert_eq!(get("depends_on"), up["id"].to_string());
    assert_eq!(get("http.keyword"), "欢迎");
    assert_eq!(get("http.expected_status"), "200, 301");
    let headers = get("http.headers");
    assert!(
        headers.contains("X-Probe: yunwei") && headers.contains("Accept: text/html"),
        "{headers}"
    );
    // The kind cannot change, and the upstream picker leaves the monitor itself out.
    assert!(!html.contains("<option value=\"tcp\""), "{html}");
    assert!(
        html.contains("id=\"kind-http\"") && !html.contains("id=\"kind-snmp\""),
        "only the monitor's own kind's fields"
    );
    assert!(!html.contains("门户首页（"), "{html}");

    let (s, loc, body) = post_edit(
        &app,
        &c,
        id,
        &with(
            &fields,
            &[("http.keyword", "新版门户"), ("http.headers", "")],
        ),
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    assert_eq!(loc, format!("/monitors/{id}"));
    let after = api_monitor(&app, id).await;
    assert_eq!(after["config"]["keyword"], "新版门户", "{after}");
    assert!(after["config"].get("headers").is_none(), "{after}");
    assert_eq!(after["config"]["expected_status"], json!([200, 301]));
    assert_eq!(after["interval_s"], 120);
    assert_eq!(after["priority"], "P1");
    assert_eq!(after["depends_on"], up["id"]);

    // Emptying the keyword and the upstream clears them.
    let (_, html) = app.page(&c, &format!("/monitors/{id}/edit")).await;
    let fields = form_fields(&html, "http");
    save_edit(
        &app,
        &c,
        id,
        &with(&fields, &[("http.keyword", ""), ("depends_on", "")]),
    )
    .await;
    let after = api_monitor(&app, id).await;
    assert!(after["config"].get("keyword").is_none(), "{after}");
    assert_eq!(after["depends_on"], serde_json::Value::Null, "{after}");
    assert_eq!(after["name"], "门户首页");
}

#[tokio::test]
async fn a_bad_value_in_the_edit_form_is_shown_in_chinese_and_changes_nothing() {
    let app = spawn_app().await;
    let c = app.page_cookie("admin", ADMIN_PASSWORD).await;
    let id = monitor_via_api(
        &app,
        &json!({"name": "数据库端口", "kind": "tcp", "target": "127.0.0.1:5432", "interval_s": 30}),
    )
    .await;
    let before = api_monitor(&app, id).await;
    let (_, html) = app.page(&c, &format!("/monitors/{id}/edit")).await;
    let fields = form_fields(&html, "tcp");
    let (s, _, html) = post_edit(
        &app,
        &c,
        id,
        &with(&fields, &[("interval_s", "abc"), ("name", "改了的名字")]),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let at = html
        .find("id=\"err-interval_s\"")
        .expect("error under the interval");
    assert!(html[at..].contains("“abc”不是整数"), "{html}");
    assert!(html.contains("<h1>编辑监控</h1>"), "{html}");
    assert!(
        html.contains("value=\"改了的名字\""),
        "what was typed is kept"
    );
    // A rule of the service: next to its field too.
    let (s, _, html) = post_edit(&app, &c, id, &with(&fields, &[("target", "没有端口")])).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let at = html
        .find("id=\"err-target\"")
        .expect("error under the target");
    assert!(html[at..].contains("TCP 目标应为 主机:端口"), "{html}");
    let after = api_monitor(&app, id).await;
    assert_eq!(after["name"], before["name"]);
    assert_eq!(after["interval_s"], 30);
    assert_eq!(after["target"], "127.0.0.1:5432");
    assert_eq!(after["updated_at"], before["updated_at"]);
}

#[tokio::test]
async fn an_snmp_v3_monitor_edited_without_its_passwords_keeps_them_and_never_shows_them() {
    let app = spawn_app().await;
    let c = app.page_cookie("admin", ADMIN_PASSWORD).await;
    let id = monitor_via_api(&app, &json!({"name": "核心交换机 SNMP", "kind": "snmp", "target": "127.0.0.1:16100",
                    "config": {"version": "3", "username": "yw-sha-aes", "security_level": "authPriv",
                               "auth_protocol": "SHA", "auth_password": "auth-pass-1",
                               "priv_protocol": "AES", "priv_password": "priv-pass-1",
                               "if_indexes": [1, 2],
                               "oids": [{"oid": "1.3.6.1.2.1.1.5.0", "equals": "core-sw-1"}]}})).await;
    let secret = stored_secret(&app, id).await.expect("a stored secret");
    let (s, html) = app.page(&c, &format!("/monitors/{id}/edit")).await;
    assert_eq!(s, StatusCode::OK);
    for p in ["auth-pass-1", "priv-pass-1"] {
        assert!(!html.contains(p), "{p} shown: {html}");
    }
    assert!(html.contains("已保存，留空则不修改"), "{html}");
    let fields = form_fields(&html, "snmp");
    let get = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    assert_eq!(get("snmp.version").as_deref(), Some("3"));
    assert_eq!(get("snmp.username").as_deref(), Some("yw-sha-aes"));
    assert_eq!(get("snmp.auth_password").as_deref(), Some(""));
    assert_eq!(get("snmp.if_indexes").as_deref(), Some("1, 2"));
    // The OID with `equals` has no field: it stays in the JSON box.
    assert!(get("config").unwrap().contains("core-sw-1"), "{fields:?}");

    save_edit(
        &app,
        &c,
        id,
        &with(
            &fields,
            &[
                ("name", "核心交换机（改名）"),
                ("snmp.if_indexes", "1, 2, 24"),
            ],
        ),
    )
    .await;
    let after = api_monitor(&app, id).await;
    assert_eq!(after["name"], "核心交换机（改名）");
    assert_eq!(after["config"]["if_indexes"], json!([1, 2, 24]), "{after}");
    assert_eq!(after["config"]["oids"][0]["equals"], "core-sw-1", "{after}");
    assert_eq!(after["has_secret"], true, "{after}");
    assert_eq!(
        stored_secret(&app, id).await.as_deref(),
        Some(secret.as_str())
    );
    let kept: serde_json::Value = serde_json::from_str(&secret).unwrap();
    assert_eq!(kept["auth_password"], "auth-pass-1");
    assert_eq!(kept["priv_password"], "priv-pass-1");

    // A new privacy password typed in replaces only that one.
    let (_, html) = app.page(&c, &format!("/monitors/{id}/edit")).await;
    let fields = form_fields(&html, "snmp");
    save_edit(
        &app,
        &c,
        id,
        &with(&fields, &[("snmp.priv_password", "priv-pass-2")]),
    )
    .await;
    let now: serde_json::Value =
        serde_json::from_str(&stored_secret(&app, id).await.unwrap()).unwrap();
    assert_eq!(
        (now["auth_password"].clone(), now["priv_password"].clone()),
        (json!("auth-pass-1"), json!("priv-pass-2"))
    );
    let (_, html) = app.page(&c, &format!("/monitors/{id}/edit")).await;
    assert!(!html.contains("priv-pass-2") && !html.contains("auth-pass-1"));
}

#[tokio::test]
async fn a_database_password_is_kept_for_the_same_user_and_host_only() {
    let app = spawn_app().await;
    let c = app.page_cookie("admin", ADMIN_PASSWORD).await;
    let id = monitor_via_api(
        &app,
        &json!({"name": "OA 库", "kind": "postgres",
                    "target": "postgres://yw:pg-secret-1@127.0.0.1:5432/oa"}),
    )
    .await;
    let (_, html) = app.page(&c, &format!("/monitors/{id}/edit")).await;
    assert!(!html.contains("pg-secret-1"), "{html}");
    let fields = form_fields(&html, "postgres");
    assert!(
        fields.contains(&("target".into(), "postgres://yw@127.0.0.1:5432/oa".into())),
        "{fields:?}"
    );
    // Another database on the same server and user: the password stays.
    save_edit(
        &app,
        &c,
        id,
        &with(&fields, &[("target", "postgres://yw@127.0.0.1:5432/oa2")]),
    )
    .await;
    assert_eq!(
        stored_secret(&app, id).await.as_deref(),
        Some("pg-secret-1")
    );
    // Another host: the stored password is not sent there.
    save_edit(
        &app,
        &c,
        id,
        &with(&fields, &[("target", "postgres://yw@127.0.0.2:5432/oa")]),
    )
    .await;
    assert_eq!(stored_secret(&app, id).await, None);
    assert!(api_monitor(&app, id).await.get("has_secret").is_none());
    // A password typed into its field goes into the shown address.
    save_edit(
        &app,
        &c,
        id,
        &with(&fields, &[("postgres.password", "pg-secret-2")]),
    )
    .await;
    assert_eq!(
        stored_secret(&app, id).await.as_deref(),
        Some("pg-secret-2")
    );
    assert_eq!(
        api_monitor(&app, id).await["target"],
        "postgres://yw@127.0.0.1:5432/oa"
    );
}

#[tokio::test]
async fn only_those_who_may_write_monitors_open_or_post_the_edit_form() {
    let app = spawn_app().await;
    let id = monitor_via_api(
        &app,
        &json!({"name": "端口", "kind": "tcp", "target": "127.0.0.1:22"}),
    )
    .await;
    for (login, role) in [("baoxiu", "requester"), ("jianli", "auditor")] {
        named_user(&app, login, login, role).await;
        let c = app.page_cookie(login, NAMED_USER_PASSWORD).await;
        let (s, _) = app.page(&c, &format!("/monitors/{id}/edit")).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{role}");
        let (s, _, _) = post_form(
            &app,
            &c,
            &format!("/monitors/{id}/edit"),
            &[("name", "改名"), ("target", "127.0.0.1:23")],
        )
        .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{role}");
        if role == "auditor" {
            let (_, detail) = app.page(&c, &format!("/monitors/{id}")).await;
            assert!(!detail.contains("/edit\""), "no edit link for {role}");
        }
    }
    // A post from another site is refused, even with an admin's session.
    let admin = app.page_cookie("admin", ADMIN_PASSWORD).await;
    let r = app
        .client
        .post(app.url(&format!("/monitors/{id}/edit")))
        .header(reqwest::header::COOKIE, &admin)
        .header(reqwest::header::ORIGIN, "https://evil.example")
        .form(&[("name", "改名"), ("target", "127.0.0.1:23")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(api_monitor(&app, id).await["name"], "端口");
    // An operator holds the monitoring write permission: the form opens.
    named_user(&app, "zhiban", "值班员", "operator").await;
    let c = app.page_cookie("zhiban", NAMED_USER_PASSWORD).await;
    let (s, _) = app.page(&c, &format!("/monitors/{id}/edit")).await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn a_monitor_is_edited_through_the_form_in_the_browser() {
    let app = spawn_app().await;
    let Some(d) = Driver::start().await else {
        return;
    };
    let id = monitor_via_api(
        &app,
        &json!({"name": "门户首页", "kind": "http", "target": "http://127.0.0.1:9/",
                    "config": {"keyword": "欢迎", "expected_status": [200],
                               "headers": {"X-Probe": "yunwei"}}}),
    )
    .await;
    d.sign_in(&app.base, "admin", ADMIN_PASSWORD).await;
    d.goto(&app.url(&format!("/monitors/{id}"))).await;
    d.click("#edit-monitor").await;
    d.wait_text("h1", "编辑监控").await;
    let v = d
        .exec("return [document.getElementById('http-keyword').value, document.getElementById('http-headers').value, document.getElementById('kind-http').hidden, document.getElementById('kind-dns') === null];")
        .await;
    assert_eq!(v, json!(["欢迎", "X-Probe: yunwei", false, true]));
    d.exec("document.getElementById('http-keyword').value = ''; document.getElementById('http-headers').value = ''; return null;")
        .await;
    d.type_into("#http-keyword", "新版门户").await;
    d.screenshot("monitor-edit").await;
    d.click("#save-monitor").await;
    d.wait_text("h1", "门户首页").await;
    d.assert_no_csp_violations("on the monitor edit form").await;
    let after = api_monitor(&app, id).await;
    assert_eq!(after["config"]["keyword"], "新版门户", "{after}");
    assert!(after["config"].get("headers").is_none(), "{after}");
    d.quit().await;
}
