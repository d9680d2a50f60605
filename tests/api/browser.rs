//! Headless Chromium through ChromeDriver (the W3C WebDriver protocol over HTTP): a
//! newcomer logs in with the generated password, changes it, and sees the 27 systems.
//! Skipped when ChromeDriver is absent, unless YUNWEI_REQUIRE_BROWSER=1 (as in CI).

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::*;

struct Driver {
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

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

impl Driver {
    async fn start() -> Option<Driver> {
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
        let caps = json!({"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
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

    async fn cmd(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let url = format!("{}/session/{}{}", self.base, self.session, path);
        let req = self.http.request(method.clone(), url);
        let req = if method == reqwest::Method::GET {
            req
        } else {
            req.json(&body)
        };
        let v: Value = req.send().await.unwrap().json().await.unwrap();
        if v["value"].get("error").is_some() {
            panic!("webdriver {path}: {v}");
        }
        v["value"].clone()
    }

    async fn goto(&self, url: &str) {
        self.cmd(reqwest::Method::POST, "/url", json!({"url": url}))
            .await;
    }

    async fn find(&self, css: &str) -> String {
        let v = self
            .cmd(
                reqwest::Method::POST,
                "/element",
                json!({"using": "css selector", "value": css}),
            )
            .await;
        v[ELEMENT].as_str().unwrap().to_string()
    }

    async fn count(&self, css: &str) -> usize {
        let v = self
            .cmd(
                reqwest::Method::POST,
                "/elements",
                json!({"using": "css selector", "value": css}),
            )
            .await;
        v.as_array().map(Vec::len).unwrap_or(0)
    }

    async fn type_into(&self, css: &str, text: &str) {
        let id = self.find(css).await;
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{id}/value"),
            json!({"text": text}),
        )
        .await;
    }

    async fn click(&self, css: &str) {
        let id = self.find(css).await;
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{id}/click"),
            json!({}),
        )
        .await;
    }

    async fn url(&self) -> String {
        self.cmd(reqwest::Method::GET, "/url", json!({}))
            .await
            .as_str()
            .unwrap()
            .to_string()
    }

    async fn text(&self, css: &str) -> String {
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

    async fn wait_for_path(&self, path: &str) {
        for _ in 0..100 {
            if self.url().await.ends_with(path) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("browser did not reach {path}; at {}", self.url().await);
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

    d.goto(&app.url("/systems?limit=50")).await;
    assert_eq!(d.count("#list tbody tr").await, 27);
    assert!(
        d.text("#list")
            .await
            .contains("广东省生态环境厅办公自动化系统")
    );
    // The old password no longer works.
    assert_eq!(
        app.login("admin", &generated).await.status(),
        reqwest::StatusCode::UNAUTHORIZED
    );
}
