//! Headless Chromium through ChromeDriver (the W3C WebDriver protocol over HTTP): a
//! newcomer logs in with the generated password, changes it, and sees the 27 systems.
//! Skipped when ChromeDriver is absent, unless YUNWEI_REQUIRE_BROWSER=1 (as in CI).

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::*;

pub(crate) struct Driver {
    child: Child,
    base: String,
    session: String,
    http: reqwest::Client,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

impl Driver {
    pub(crate) async fn start() -> Option<Driver> {
        let exe = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists());
        let Some(exe) = exe else {
            assert!(
                std::env::var("YUNWEI_REQUIRE_BROWSER").is_err(),
                "chromedriver is required (YUNWEI_REQUIRE_BROWSER is set)"
            );
            eprintln!("skipping browser test: chromedriver not installed");
            return None;
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(exe)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        for _ in 0..100 {
            if http.get(format!("{base}/status")).send().await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let profile = tempfile::tempdir().unwrap().keep();
        // The browser console is kept so that tests can look for CSP violations.
        let caps = json!({"capabilities": {"alwaysMatch": {"browserName": "chrome",
            "goog:loggingPrefs": {"browser": "ALL"}, "goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     format!("--user-data-dir={}", profile.display()), "--window-size=1280,900"]}}}});
        let v: Value = http
            .post(format!("{base}/session"))
            .json(&caps)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let session = v["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {v}"))
            .to_string();
        Some(Driver {
            child,
            base,
            session,
            http,
        })
    }

    /// A WebDriver request on this session: `body` is sent except with GET.
    fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &Value,
    ) -> reqwest::RequestBuilder {
        let url = format!("{}/session/{}{}", self.base, self.session, path);
        let req = self.http.request(method.clone(), url);
        if method == reqwest::Method::GET {
            req
        } else {
            req.json(body)
        }
    }

    pub(crate) async fn cmd(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let req = self.request(method, path, &body);
        let v: Value = req.send().await.unwrap().json().await.unwrap();
        if v["value"].get("error").is_some() {
            panic!("webdriver {path}: {v}");
        }
        v["value"].clone()
    }

    /// Ends the browser session (Chromium exits with it).
    pub(crate) async fn quit(&self) {
        let url = format!("{}/session/{}", self.base, self.session);
        let _ = self.http.delete(url).send().await;
    }

    pub(crate) async fn goto(&self, url: &str) {
        self.cmd(reqwest::Method::POST, "/url", json!({"url": url}))
            .await;
    }

    pub(crate) async fn find(&self, css: &str) -> String {
        let v = self
            .cmd(
                reqwest::Method::POST,
                "/element",
                json!({"using": "css selector", "value": css}),
            )
            .await;
        v[ELEMENT].as_str().unwrap().to_string()
    }

    pub(crate) async fn count(&self, css: &str) -> usize {
        let v = self
            .cmd(
                reqwest::Method::POST,
                "/elements",
                json!({"using": "css selector", "value": css}),
            )
            .await;
        v.as_array().map(Vec::len).unwrap_or(0)
    }

    pub(crate) async fn type_into(&self, css: &str, text: &str) {
        let id = self.find(css).await;
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{id}/value"),
            json!({"text": text}),
        )
        .await;
    }

    pub(crate) async fn click(&self, css: &str) {
        let id = self.find(css).await;
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{id}/click"),
            json!({}),
        )
        .await;
    }

    pub(crate) async fn url(&self) -> String {
        self.cmd(reqwest::Method::GET, "/url", json!({}))
            .await
            .as_str()
            .unwrap()
            .to_string()
    }

    pub(crate) async fn text(&self, css: &str) -> String {
        let id = self.find(css).await;
        self.cmd(
            reqwest::Method::GET,
            &format!("/element/{id}/text"),
            json!({}),
        )
        .await
        .as_str()
        .unwrap()
        .to_string()
    }

    pub(crate) async fn exec(&self, script: &str) -> Value {
        self.cmd(
            reqwest::Method::POST,
            "/execute/sync",
            json!({"script": script, "args": []}),
        )
        .await
    }

    /// The browser console's messages since the last call (reading empties the buffer).
    pub(crate) async fn console(&self) -> Vec<String> {
        let v = self
            .cmd(reqwest::Method::POST, "/se/log", json!({"type": "browser"}))
            .await;
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["message"].as_str().map(str::to_string))
            .collect()
    }

    /// Fails on any Content-Security-Policy violation the console reported since the
    /// last check (an inline style or script, eval, a resource from elsewhere).
    pub(crate) async fn assert_no_csp_violations(&self, when: &str) {
        let bad: Vec<String> = self
            .console()
            .await
            .into_iter()
            .filter(|m| m.contains("Content Security Policy") || m.contains("unsafe-eval"))
            .collect();
        assert!(bad.is_empty(), "CSP violations {when}: {bad:#?}");
    }

    /// Shows that the policy is in force and that violations do reach the console: an
    /// inline `<style>` added by script is refused and reported.
    pub(crate) async fn assert_csp_is_enforced(&self) {
        self.console().await;
        let applied = self
            .exec(
                "var s = document.createElement('style'); s.textContent = 'body { margin-left: 77px }'; \
                 document.head.appendChild(s); return getComputedStyle(document.body).marginLeft",
            )
            .await;
        assert_ne!(applied, json!("77px"), "an inline <style> was applied");
        let mut seen = Vec::new();
        for _ in 0..20 {
            seen.extend(self.console().await);
            if seen.iter().any(|m| m.contains("Content Security Policy")) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the refused inline style left no CSP message in the console: {seen:#?}");
    }

    pub(crate) async fn sign_out(&self) {
        let url = format!("{}/session/{}/cookie", self.base, self.session);
        self.http.delete(url).send().await.unwrap();
    }

    pub(crate) async fn sign_in(&self, base: &str, user: &str, pw: &str) {
        self.sign_out().await;
        self.goto(&format!("{base}/login")).await;
        self.type_into("#username", user).await;
        self.type_into("#password", pw).await;
        self.click("#login").await;
        self.wait_for_path("/").await;
    }

    /// Waits until the element's text contains `needle` (pages load after a click).
    pub(crate) async fn wait_text(&self, css: &str, needle: &str) -> String {
        let mut last = String::new();
        for _ in 0..100 {
            let v = self
                .cmd_soft(
                    reqwest::Method::POST,
                    "/element",
                    json!({"using": "css selector", "value": css}),
                )
                .await;
            if let Some(id) = v.get(ELEMENT).and_then(Value::as_str) {
                let t = self
                    .cmd_soft(
                        reqwest::Method::GET,
                        &format!("/element/{id}/text"),
                        json!({}),
                    )
                    .await;
                last = t.as_str().unwrap_or_default().to_string();
                if last.contains(needle) {
                    return last;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{css} never contained {needle:?}; last text {last:?}");
    }

    /// Like `cmd`, but an error (e.g. element not there yet) is returned, not a panic.
    pub(crate) async fn cmd_soft(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let req = self.request(method, path, &body);
        match req.send().await {
            Ok(r) => r
                .json::<Value>()
                .await
                .map(|v| v["value"].clone())
                .unwrap_or(Value::Null),
            Err(_) => Value::Null,
        }
    }

    /// Types into whatever has the focus, as a keyboard would (`\u{E004}` is Tab,
    /// `\u{E007}` Enter).
    pub(crate) async fn keys(&self, text: &str) {
        let v = self
            .cmd(reqwest::Method::GET, "/element/active", json!({}))
            .await;
        let id = v[ELEMENT].as_str().unwrap().to_string();
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{id}/value"),
            json!({"text": text}),
        )
        .await;
    }

    pub(crate) async fn wait_for_path(&self, path: &str) {
        for _ in 0..100 {
            if self.url().await.ends_with(path) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("browser did not reach {path}; at {}", self.url().await);
    }
    /// Resizes the browser window (e.g. 390×844 for a phone, 1920×1080 for a wall).
    pub(crate) async fn window_size(&self, width: u32, height: u32) {
        self.cmd(
            reqwest::Method::POST,
            "/window/rect",
            json!({"width": width, "height": height}),
        )
        .await;
    }

    /// Saves a PNG of the viewport as `<screenshots>/<name>.png` and returns its path.
    /// The folder is `YUNWEI_SCREENSHOT_DIR`, or `screenshots/` under the test's target
    /// temporary directory, so CI keeps every page a test looked at.
    pub(crate) async fn screenshot(&self, name: &str) -> std::path::PathBuf {
        use base64::Engine as _;
        let v = self
            .cmd(reqwest::Method::GET, "/screenshot", json!({}))
            .await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap_or_default())
            .expect("screenshot is base64");
        assert!(
            png.starts_with(b"\x89PNG"),
            "screenshot {name} is not a PNG"
        );
        let dir = std::env::var_os("YUNWEI_SCREENSHOT_DIR")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| {
                std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots")
            });
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, &png).unwrap();
        eprintln!("screenshot: {}", path.display());
        path
    }
}

#[tokio::test]
async fn a_newcomer_logs_in_changes_the_generated_password_and_sees_the_27_systems() {
    let app = spawn_with(Options {
        demo: true,
        admin_password: None,
        ..Options::default()
    })
    .await;
    let Some(d) = Driver::start().await else {
        return;
    };
    let generated = app.generated_admin_password.clone().unwrap();

    d.goto(&app.url("/")).await;
    d.wait_for_path("/login?next=/").await;
    d.type_into("#username", "admin").await;
    d.type_into("#password", &generated).await;
    d.click("#login").await;
    d.wait_for_path("/password").await;
    assert!(d.text("p.warn").await.contains("首次登录"));

    d.type_into("#current_password", &generated).await;
    d.type_into("#new_password", "Newcomer#2026").await;
    d.type_into("#confirm_password", "Newcomer#2026").await;
    d.click("#change").await;
    d.wait_for_path("/?password_changed=1").await;
    assert_eq!(d.text("#systems-count").await, "27");

    d.assert_no_csp_violations("on the login, password and overview pages")
        .await;
    d.assert_csp_is_enforced().await;
    d.goto(&app.url("/systems?limit=50")).await;
    assert_eq!(d.count("#list tbody tr").await, 27);
    assert!(
        d.text("#list")
            .await
            .contains("广东省生态环境厅办公自动化系统")
    );

    // On a phone the navigation folds behind the menu button and the table scrolls.
    d.screenshot("newcomer-systems").await;
    d.window_size(390, 844).await;
    d.goto(&app.url("/")).await;
    let visible =
        |css: &str| format!("return getComputedStyle(document.querySelector('{css}')).display");
    assert_eq!(d.exec(&visible(".sidenav")).await, json!("none"));
    assert_ne!(d.exec(&visible(".navtoggle")).await, json!("none"));
    d.click(".navtoggle").await;
    assert_eq!(d.exec(&visible(".sidenav")).await, json!("block"));
    let overflow = d
        .exec("return document.documentElement.scrollWidth <= window.innerWidth")
        .await;
    assert_eq!(overflow, json!(true), "the page fits the phone's width");
    d.screenshot("newcomer-phone-menu").await;
    d.assert_no_csp_violations("on login, password, overview and systems pages")
        .await;
    d.quit().await;
    // The old password no longer works.
    assert_eq!(
        app.login("admin", &generated).await.status(),
        reqwest::StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_requester_reports_a_fault_the_engineer_checks_in_and_resolves_it_and_the_requester_rates_it()
 {
    let app = spawn_demo().await;
    let Some(d) = Driver::start().await else {
        return;
    };
    // An engineer in system 1's O&M slot, and a requester.
    let (eng, _) = app.user_with_role("eng", "engineer").await;
    let (_, s) = app
        .post(
            &app.admin_token,
            "/api/v1/staff",
            &json!({"name": "运维甲", "user_id": eng}),
        )
        .await;
    fill_slot(&app, 1, "om_engineer", &s["id"]).await;
    app.user_with_role("citizen", "requester").await;

    d.sign_in(&app.base, "citizen", "Changed#Pass2").await;
    d.goto(&app.url("/tickets/new")).await;
    d.exec("document.getElementById('system_id').value = '1'; document.getElementById('kind').value = 'incident';").await;
    d.type_into("#title", "公众网首页打不开").await;
    d.type_into("#description", "上午九点起访问首页提示 502")
        .await;
    let shot = tempfile::Builder::new().suffix(".txt").tempfile().unwrap();
    std::fs::write(shot.path(), "HTTP 502 Bad Gateway\n").unwrap();
    d.type_into("#files", shot.path().to_str().unwrap()).await;
    d.click("#submit-ticket").await;
    d.wait_text("#number", "INC-").await;
    let url = d.url().await;
    let id: i64 = url
        .split("/tickets/")
        .nth(1)
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(d.text("#number").await.starts_with("INC-"));
    assert_eq!(d.text("#assignee").await, "eng");
    let (_, atts) = app
        .get_json(
            &app.admin_token,
            &format!("/api/v1/tickets/{id}/attachments"),
        )
        .await;
    assert_eq!(atts["items"].as_array().map(Vec::len), Some(1), "{atts}");

    d.sign_in(&app.base, "eng", "Changed#Pass2").await;
    d.goto(&app.url(&format!("/tickets/{id}"))).await;
    d.click("#do-check-in").await;
    d.wait_text("#status", "处理中").await;
    assert_ne!(d.text("#onsite").await, "—");
    d.type_into("#resolution", "重启网关服务").await;
    for (f, v) in [
        ("fr_symptom", "首页 502"),
        ("fr_impact_scope", "公众网全部访客"),
        ("fr_cause", "网关进程内存泄漏"),
        ("fr_handling", "重启网关并扩容"),
        ("fr_measures", "增加内存监控告警"),
    ] {
        d.type_into(&format!("#{f}"), v).await;
    }
    d.exec("document.getElementById('fr_started_at').value = '2025-10-15T09:00'; document.getElementById('fr_recovered_at').value = '2025-10-15T10:00';").await;
    d.click("#do-resolve").await;
    d.wait_text("#status", "已解决").await;
    assert!(d.text("#fault-report").await.contains("网关进程内存泄漏"));

    d.sign_in(&app.base, "citizen", "Changed#Pass2").await;
    d.goto(&app.url(&format!("/tickets/{id}"))).await;
    d.exec("document.getElementById('score').value = '5';")
        .await;
    d.type_into("#rate-comment", "处理及时").await;
    d.click("#do-rate").await;
    d.wait_text("#status", "已关闭").await;
    assert!(d.text("#satisfaction").await.starts_with("5 星"));
    d.assert_no_csp_violations("on the ticket pages").await;
    d.quit().await;
    let (_, v) = app
        .get_json(&app.admin_token, &format!("/api/v1/tickets/{id}"))
        .await;
    assert_eq!(v["satisfaction"], json!(5));
    assert!(v["onsite_at"].is_string());
}

#[tokio::test]
async fn the_monitor_page_draws_its_charts_and_the_screen_refreshes_itself() {
    let app = spawn_demo().await;
    let Some(d) = Driver::start().await else {
        return;
    };
    let (_, m) = app
        .post(
            &app.admin_token,
            "/api/v1/monitors",
            &json!({"name": "本机端口", "kind": "tcp", "target": format!("127.0.0.1:{}", app.base.rsplit(':').next().unwrap()), "system_id": 1}),
        )
        .await;
    let id = m["id"].as_i64().unwrap();
    for _ in 0..3 {
        app.post(
            &app.admin_token,
            &format!("/api/v1/monitors/{id}/check"),
            &json!({}),
        )
        .await;
    }
    d.sign_in(&app.base, "admin", ADMIN_PASSWORD).await;
    d.goto(&app.url(&format!("/monitors/{id}"))).await;
    d.wait_text("#state", "正常").await;
    let mut canvases = 0;
    for _ in 0..40 {
        canvases = d.count("#latency-chart canvas").await;
        if canvases > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert!(canvases > 0, "ECharts drew the latency chart");
    // Hovering the chart shows its tooltip (drawn on the canvas, no inline styles).
    let chart = d.find("#latency-chart").await;
    d.cmd(
        reqwest::Method::POST,
        "/actions",
        json!({"actions": [{"type": "pointer", "id": "mouse", "parameters": {"pointerType": "mouse"},
            "actions": [{"type": "pointerMove", "duration": 0, "origin": {ELEMENT: chart}, "x": 0, "y": 0},
                        {"type": "pointerMove", "duration": 200, "origin": {ELEMENT: chart}, "x": 40, "y": 10}]}]}),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    d.assert_no_csp_violations("on the monitor page with its charts")
        .await;
    d.goto(&app.url("/screen")).await;
    d.wait_text("#system-tiles", "广东省生态环境厅办公自动化系统")
        .await;
    assert_eq!(d.count("#system-tiles .stile").await, 27);
    d.assert_no_csp_violations("on the screen").await;
    d.quit().await;
}

#[tokio::test]
async fn an_engineer_fills_an_inspection_on_a_phone_with_a_draft_saved_as_they_go() {
    let app = spawn_demo().await;
    let Some(d) = Driver::start().await else {
        return;
    };
    let t = &app.admin_token;
    let (eng, _) = app.user_with_role("eng", "engineer").await;
    let tpl = app
        .post_expect(
            t,
            "/api/v1/inspection-templates",
            &json!({"name": "机房手机巡检", "target_type": "site", "items": [
                {"key": "ENV-01", "label": "冷通道进风温度", "kind": "number", "unit": "℃", "min": 18, "max": 27, "required": true},
                {"key": "UPS-01", "label": "UPS 面板无告警", "kind": "check", "required": true},
                {"key": "FIRE-01", "label": "控制器工作方式", "kind": "choice", "choices": ["自动", "手动", "故障"], "abnormal_choices": ["故障"], "required": true},
                {"key": "PHOTO", "label": "机房全景", "kind": "photo"}
            ]}),
            reqwest::StatusCode::CREATED,
        )
        .await;
    let plan = app
        .post_expect(
            t,
            "/api/v1/inspection-plans",
            &json!({"name": "机房日检", "template_id": tpl["id"], "target_mode": "all",
                    "schedule": "0 9 * * *", "assignee_rule": "user", "assignee_id": eng}),
            reqwest::StatusCode::CREATED,
        )
        .await;
    let run = app
        .post_expect(
            t,
            &format!("/api/v1/inspection-plans/{}/run", plan["id"]),
            &json!({}),
            reqwest::StatusCode::CREATED,
        )
        .await;
    let id = run["task_ids"][0].as_i64().unwrap();

    d.cmd(
        reqwest::Method::POST,
        "/window/rect",
        json!({"width": 390, "height": 844}),
    )
    .await;
    d.sign_in(&app.base, "eng", "Changed#Pass2").await;
    d.goto(&app.url("/inspections")).await;
    d.click("#tasks tbody a").await;
    d.wait_for_path(&format!("/inspections/tasks/{id}")).await;
    // A reading out of range: the draft is saved on change, without a button.
    d.type_into("input[name='r[ENV-01]']", "29.5").await;
    d.exec("document.querySelector(\"input[name='r[ENV-01]']\").dispatchEvent(new Event('change', {bubbles: true}))")
        .await;
    d.wait_text("#draft", "草稿已保存").await;
    let v = inspection_task(&app, t, id).await;
    assert_eq!(v["items"][0]["value"], json!(29.5), "{v}");
    assert_eq!(v["status"], "in_progress");
    // The page shows the verdict with the range once reloaded.
    d.goto(&app.url(&format!("/inspections/tasks/{id}"))).await;
    assert!(d.text("#item-ENV-01").await.contains("高于上限 27"));
    assert!(d.text("#item-ENV-01").await.contains("正常范围：18–27 ℃"));
    let overflow = d
        .exec("return document.documentElement.scrollWidth <= window.innerWidth")
        .await;
    assert_eq!(overflow, json!(true), "the task fits the phone's width");
    // A photo taken on the page is uploaded at once and shown as a thumbnail.
    let pic = app.data_dir.join("全景.png");
    std::fs::write(&pic, crate::inspection_photos::PNG).unwrap();
    d.type_into("#photo-PHOTO", pic.to_str().unwrap()).await;
    d.wait_text("#photos-PHOTO", "已上传").await;
    assert_eq!(d.count("#photos-PHOTO img.thumb").await, 1);
    // The thumbnail loads the picture itself (1 pixel wide).
    d.exec("document.querySelector('#photos-PHOTO img.thumb').scrollIntoView()")
        .await;
    let mut loaded = json!(0);
    for _ in 0..50 {
        loaded = d
            .exec("const i = document.querySelector('#photos-PHOTO img.thumb'); return i.complete ? i.naturalWidth : -1")
            .await;
        if loaded != json!(-1) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let v = inspection_task(&app, t, id).await;
    assert_eq!(
        v["items"][3]["value"].as_array().map(Vec::len),
        Some(1),
        "{v}"
    );
    assert_eq!(
        v["items"][0]["value"],
        json!(29.5),
        "the draft is untouched"
    );
    assert_eq!(loaded, json!(1), "the thumbnail shows the picture");
    // Submitting with a required item missing is refused and names it.
    d.click("#submit-task").await;
    assert!(
        d.wait_text("#task-error", "必填")
            .await
            .contains("UPS 面板无告警")
    );
    d.click("input[name='r[UPS-01]'][value='normal']").await;
    d.exec("document.querySelector(\"select[name='r[FIRE-01]']\").value = '自动'")
        .await;
    d.click("#submit-task").await;
    d.wait_text("#task-status", "待审核").await;
    let v = inspection_task(&app, t, id).await;
    assert_eq!(v["status"], "submitted");
    assert_eq!(v["findings"], 1, "the temperature: {v}");
    d.assert_no_csp_violations("on the inspection pages").await;
    d.quit().await;
}

#[tokio::test]
async fn an_operator_records_a_support_call_with_the_keyboard_only() {
    let app = spawn_demo().await;
    let Some(d) = Driver::start().await else {
        return;
    };
    let t = &app.admin_token;
    let (op, ot) = app.user_with_role("op", "operator").await;
    let line = line_by_code(&app, "4.2.7").await["id"].as_i64().unwrap();
    app.patch_expect(
        t,
        &format!("/api/v1/service-lines/{line}"),
        &json!({"staff_ids": [op]}),
        reqwest::StatusCode::OK,
    )
    .await;
    // An earlier call: its requester is offered as you type.
    app.post_expect(
        &ot,
        "/api/v1/work-records",
        &json!({"line_id": line, "type": "support", "requester": "王科长", "channel": "电话", "summary": "旧问题"}),
        reqwest::StatusCode::CREATED,
    )
    .await;

    d.sign_in(&app.base, "op", "Changed#Pass2").await;
    d.goto(&app.url("/operations")).await;
    assert!(d.text("#lines").await.contains("网上办事统一申办审批平台"));
    d.goto(&app.url(&format!("/operations/lines/{line}"))).await;
    assert_eq!(d.count("#recent option[value='王科长']").await, 1);
    // The focus starts in the first field; Tab moves on; Enter saves.
    let focused = d.exec("return document.activeElement.id").await;
    assert_eq!(focused, json!("requester"));
    d.keys("李主任\u{E004}").await;
    d.keys("佛山市生态环境局\u{E004}").await;
    d.keys("地\u{E004}").await;
    d.keys("企\u{E004}").await;
    d.keys("无法登录系统\u{E004}").await;
    d.keys("重置密码后恢复\u{E004}").await;
    d.keys("\u{E004}").await;
    d.keys("15\u{E007}").await;
    d.wait_text("#saved", "已记录").await;
    let recs = app
        .get_json_expect(
            t,
            &format!("/api/v1/work-records?line_id={line}&q=%E6%9D%8E%E4%B8%BB%E4%BB%BB"),
            reqwest::StatusCode::OK,
        )
        .await;
    assert_eq!(recs["total"], 1, "{recs}");
    let r = &recs["items"][0];
    assert_eq!(r["organisation"], "佛山市生态环境局", "{r}");
    assert_eq!(r["org_level"], "地市", "{r}");
    assert_eq!(r["channel"], "企业微信", "{r}");
    assert_eq!(r["summary"], "无法登录系统", "{r}");
    assert_eq!(r["answer"], "重置密码后恢复", "{r}");
    assert_eq!(r["result"], "已解决", "{r}");
    assert_eq!(r["duration_minutes"], 15, "{r}");
    assert_eq!(r["operator_id"], op, "{r}");
    // After saving, the focus is back in the first field for the next call.
    let focused = d.exec("return document.activeElement.id").await;
    assert_eq!(focused, json!("requester"));
    assert!(d.text("#records").await.contains("无法登录系统"));
    // A record without its question is refused with the reason, nothing stored.
    d.keys("张三\u{E004}").await;
    d.exec("document.getElementById('summary').removeAttribute('required')")
        .await;
    d.click("#save").await;
    d.wait_text("#form-error", "请填写问题或工作内容").await;
    assert_eq!(app.total("/api/v1/work-records").await, 2);
    // The line's twelve-month charts are drawn.
    let mut canvases = 0;
    for _ in 0..40 {
        canvases = d.count("#line-records-chart canvas").await
            + d.count("#line-satisfaction-chart canvas").await;
        if canvases >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert!(canvases >= 2, "ECharts drew the line's two charts");
    d.assert_no_csp_violations("on the operations pages").await;
    d.quit().await;
}

#[tokio::test]
async fn the_cloud_trend_chart_draws_and_a_requirement_moves_by_its_button() {
    let app =
        demo_at(chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2025, 12, 3, 1, 0, 0).unwrap())
            .await;
    let Some(d) = Driver::start().await else {
        return;
    };
    let t = app.admin_token.clone();
    let head = "名称,所属系统,月份,vCPU,内存(GB),磁盘(GB),CPU平均(%),CPU峰值(%),内存平均(%),内存峰值(%),磁盘使用(%)\n";
    for rows in [
        "vm-a1,4.1.2.1,2025-10,4,8,100,15,25,10,20,40\n",
        "vm-a1,4.1.2.1,2025-11,4,8,100,5,20,6,30,40\nvm-a2,4.1.2.1,2025-11,8,16,200,50,95,40,60,30\n",
    ] {
        let r = app
            .client
            .post(app.url("/api/v1/cloud-resources/import"))
            .bearer_auth(&t)
            .header("content-type", "text/csv")
            .body(format!("{head}{rows}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), reqwest::StatusCode::OK);
    }
    let (_, pm) = app.user_with_role("pm", "manager").await;
    let req = app
        .post_expect(
            &pm,
            "/api/v1/requirements",
            &json!({"title": "增加导出", "source": "user", "priority": "high"}),
            reqwest::StatusCode::CREATED,
        )
        .await;
    let id = req["id"].as_i64().unwrap();

    d.sign_in(&app.base, "pm", "Changed#Pass2").await;
    d.goto(&app.url("/cloud?period=2025-11")).await;
    assert!(d.text("#resources").await.contains("vm-a2"));
    let mut canvases = 0;
    for _ in 0..40 {
        canvases = d.count("#cloud-trend-chart canvas").await;
        if canvases >= 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert!(canvases >= 1, "ECharts drew the cloud trend");
    d.assert_no_csp_violations("on the cloud page").await;

    d.goto(&app.url(&format!("/requirements/{id}"))).await;
    d.click("#to-analysing").await;
    d.wait_text("#status", "分析中").await;
    let v = app
        .get_json_expect(
            &pm,
            &format!("/api/v1/requirements/{id}"),
            reqwest::StatusCode::OK,
        )
        .await;
    assert_eq!(v["status"], "analysing");
    d.goto(&app.url("/requirements")).await;
    assert!(d.text("#requirements").await.contains("增加导出"));
    d.assert_no_csp_violations("on the requirements pages")
        .await;
    d.quit().await;
}

#[tokio::test]
async fn the_backup_heat_map_draws_without_csp_violations() {
    let app = demo_at(bj(2025, 12, 6, 9, 0)).await;
    let Some(d) = Driver::start().await else {
        return;
    };
    app.user_with_role("jia", "supervisor").await;
    d.sign_in(&app.base, "jia", "Changed#Pass2").await;
    d.assert_csp_is_enforced().await;
    d.goto(&app.url("/backups?month=2025-12")).await;
    assert!(d.text("#heat-table").await.contains("OBD"));
    let mut canvases = 0;
    for _ in 0..40 {
        canvases = d.count("#backup-heat-chart canvas").await;
        if canvases >= 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert!(canvases >= 1, "ECharts drew the heat map");
    // The chart is as tall as its 29 rows need, and it painted coloured cells: the
    // missed days' red is on the canvas.
    let drawn = d
        .exec(
            "var c = document.querySelector('#backup-heat-chart canvas'); \
             var x = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; var red = 0; \
             for (var i = 0; i < x.length; i += 4) { if (x[i] > 120 && x[i + 1] < 60 && x[i + 2] < 60) { red++; } } \
             return [c.height, red];",
        )
        .await;
    assert!(drawn[0].as_i64().unwrap() >= 29 * 24, "{drawn}");
    assert!(drawn[1].as_i64().unwrap() > 100, "{drawn}");
    d.assert_no_csp_violations("on the backups page").await;
    d.quit().await;
}
