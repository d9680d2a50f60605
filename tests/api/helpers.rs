//! `spawn_app`: the real application on 127.0.0.1:0 with a fresh database (a temp SQLite
//! file, or a fresh PostgreSQL database when TEST_DATABASE_URL is set) and a manual clock.

use std::sync::atomic::{AtomicU64, Ordering};

use chrono::Utc;
use reqwest::multipart::{Form, Part};
use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};
use yunwei::config::{Config, Secret};
use yunwei::{Application, Clock, Ctx};

pub const ADMIN_PASSWORD: &str = "Strong#Passw0rd";

pub struct TestApp {
    pub base: String,
    pub client: Client,
    pub clock: Clock,
    pub ctx: Ctx,
    pub admin_token: String,
    pub generated_admin_password: Option<String>,
    pub database_url: String,
    pub data_dir: std::path::PathBuf,
    _tmp: tempfile::TempDir,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

pub struct Options {
    pub demo: bool,
    /// Days of simulated demo history (default 0: the contract only, so tests that count
    /// tickets start from none).
    pub demo_days: u32,
    pub admin_password: Option<&'static str>,
    /// Where the manual clock starts (default: now).
    pub start: Option<chrono::DateTime<Utc>>,
    /// Run the probe engine (off by default: tests drive checks with `check_now`).
    pub monitoring: bool,
    /// Changes to the configuration before the app is built.
    pub configure: Option<fn(&mut Config)>,
    /// `tls_ca_file`: extra CA certificates trusted by outbound TLS.
    pub tls_ca_file: Option<std::path::PathBuf>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            demo: false,
            demo_days: 0,
            admin_password: Some(ADMIN_PASSWORD),
            start: None,
            monitoring: false,
            configure: None,
            tls_ca_file: None,
        }
    }
}

/// A fresh database URL: PostgreSQL when TEST_DATABASE_URL is set, else None (SQLite).
/// The PostgreSQL database is a copy of this process's migrated template
/// (`CREATE DATABASE … TEMPLATE`), so a test's start runs no migration: the migrations ran
/// once, on the template, by the same `Store::connect` every start uses.
pub async fn fresh_database() -> Option<String> {
    let base = std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|s| !s.is_empty())?;
    let template = template(&base).await;
    let name = unique_name("yunwei_test");
    create_database(&base, &format!("{name} TEMPLATE {template}")).await;
    Some(database_url(&base, &name))
}

/// The migrated database every test of this process copies (named `yunwei_test_…` like
/// the copies, so that `.ci/run` drops it with them).
static TEMPLATE: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();

async fn template(base: &str) -> &'static str {
    TEMPLATE
        .get_or_init(|| async {
            let name = unique_name("yunwei_test_template");
            create_database(base, &name).await;
            let store = yunwei::store::Store::connect(yunwei::store::ConnectOptions {
                url: database_url(base, &name),
                data_dir: std::env::temp_dir(),
                max_connections: 1,
                sqlite_synchronous: "FULL",
                tls_ca_file: None,
                cache_max_bytes: 1 << 20,
            })
            .await
            .expect("migrate the template database");
            // A template cannot be copied while anyone is connected to it.
            store.close().await;
            name
        })
        .await
}

fn unique_name(prefix: &str) -> String {
    format!(
        "{prefix}_{}_{}_{}",
        std::process::id(),
        Utc::now().timestamp_micros(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

fn database_url(base: &str, name: &str) -> String {
    let (prefix, _) = base.rsplit_once('/').expect("database URL has a path");
    format!("{prefix}/{name}")
}

/// `CREATE DATABASE {what}` on the server of `base`.
async fn create_database(base: &str, what: &str) {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(base)
        .await
        .expect("connect to TEST_DATABASE_URL");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {what}")))
        .execute(&mut conn)
        .await
        .expect("create test database");
    let _ = conn.close().await;
}

pub async fn spawn_app() -> TestApp {
    spawn_with(Options::default()).await
}

pub async fn spawn_demo() -> TestApp {
    spawn_with(Options {
        demo: true,
        ..Options::default()
    })
    .await
}

pub async fn spawn_with(opts: Options) -> TestApp {
    // Server errors show in the output of a failing test.
    let _ = tracing_subscriber::fmt()
        .with_env_filter("warn,sqlx=error")
        .with_test_writer()
        .try_init();
    let tmp = tempfile::tempdir().expect("tempdir");
    let database_url = fresh_database().await;
    let config = Config {
        data_dir: tmp.path().to_path_buf(),
        database_url: database_url.clone().map(Secret),
        demo: opts.demo,
        demo_days: opts.demo_days,
        admin_password: opts.admin_password.map(|p| Secret(p.to_string())),
        database_max_connections: 5,
        tls_ca_file: opts.tls_ca_file.clone(),
        ..Config::default()
    };
    let mut config = config;
    config.monitoring.enabled = opts.monitoring;
    if let Some(f) = opts.configure {
        f(&mut config);
    }
    let database_url = config.effective_database_url();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let clock = Clock::manual(opts.start.unwrap_or_else(Utc::now));
    let app = Application::build(config, listener, clock.clone())
        .await
        .expect("build app");
    let addr = app.local_addr().expect("addr");
    let ctx = app.ctx().clone();
    let generated = app.generated_admin_password.clone();
    tokio::spawn(app.run_until(std::future::pending()));
    let client = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let mut t = TestApp {
        base: format!("http://{addr}"),
        client,
        clock,
        ctx,
        admin_token: String::new(),
        generated_admin_password: generated,
        database_url,
        data_dir: tmp.path().to_path_buf(),
        _tmp: tmp,
    };
    if let Some(pw) = opts.admin_password {
        t.admin_token = t.login_ok("admin", pw).await;
    }
    t
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn login(&self, username: &str, password: &str) -> Response {
        self.client
            .post(self.url("/api/v1/auth/login"))
            .json(&json!({"username": username, "password": password}))
            .send()
            .await
            .expect("login request")
    }

    pub async fn login_ok(&self, username: &str, password: &str) -> String {
        let r = self.login(username, password).await;
        assert_eq!(r.status(), StatusCode::OK, "login of {username} failed");
        let v: Value = r.json().await.expect("login json");
        v["token"].as_str().expect("token").to_string()
    }

    pub async fn get(&self, token: &str, path: &str) -> Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("get")
    }

    /// Sets the clock to `at` and signs the administrator in again: the old session may
    /// have timed out meanwhile.
    pub async fn set_clock_relogin(&mut self, at: chrono::DateTime<Utc>) {
        self.clock.set(at);
        self.admin_token = self.login_ok("admin", ADMIN_PASSWORD).await;
    }

    /// A second process state (pool, caches, secret key from the data dir) on the same
    /// database and clock: the server after a restart, or a second replica.
    pub async fn second_process(&self) -> Ctx {
        let mut config = (*self.ctx.config).clone();
        config.database_url = Some(Secret(self.database_url.clone()));
        let store = yunwei::store::Store::connect(&config).await.unwrap();
        let secrets = yunwei::notify::secrets::SecretBox::load(None, &config.data_dir).unwrap();
        Ctx::new(store, config, self.clock.clone(), secrets).unwrap()
    }

    /// The body of a GET as text, whatever its status.
    pub async fn get_text(&self, token: &str, path: &str) -> String {
        self.get(token, path).await.text().await.unwrap()
    }

    /// A GET without any credentials: the response.
    pub async fn anon_get(&self, path: &str) -> Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("anonymous get")
    }

    /// A POST without any credentials or body: the response.
    pub async fn anon_post(&self, path: &str) -> Response {
        self.client
            .post(self.url(path))
            .send()
            .await
            .expect("anonymous post")
    }

    pub async fn get_json(&self, token: &str, path: &str) -> (StatusCode, Value) {
        let r = self.get(token, path).await;
        let s = r.status();
        (s, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn send_json(
        &self,
        method: &str,
        token: &str,
        path: &str,
        body: &Value,
    ) -> (StatusCode, Value) {
        let m = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let r = self
            .client
            .request(m, self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .expect("send");
        let s = r.status();
        (s, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn post(&self, token: &str, path: &str, body: &Value) -> (StatusCode, Value) {
        self.send_json("POST", token, path, body).await
    }

    pub async fn patch(&self, token: &str, path: &str, body: &Value) -> (StatusCode, Value) {
        self.send_json("PATCH", token, path, body).await
    }

    /// Posts raw `body` bytes of `content_type` with a bearer token: the status and the
    /// JSON body (null when the answer is not JSON).
    pub async fn post_raw(
        &self,
        token: &str,
        path: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> (StatusCode, Value) {
        let r = self
            .client
            .post(self.url(path))
            .bearer_auth(token)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("raw post");
        let s = r.status();
        (s, r.json().await.unwrap_or(Value::Null))
    }

    /// Posts a multipart form with a bearer token: the status and the JSON body (null when
    /// the answer is not JSON).
    pub async fn post_multipart(&self, token: &str, path: &str, form: Form) -> (StatusCode, Value) {
        let r = self
            .client
            .post(self.url(path))
            .bearer_auth(token)
            .multipart(form)
            .send()
            .await
            .expect("multipart post");
        let s = r.status();
        (s, r.json().await.unwrap_or(Value::Null))
    }

    /// Posts a multipart form from a page with the session cookie: the response.
    pub async fn post_multipart_page(&self, cookie: &str, path: &str, form: Form) -> Response {
        self.client
            .post(self.url(path))
            .header(reqwest::header::COOKIE, cookie)
            .multipart(form)
            .send()
            .await
            .expect("multipart page post")
    }

    /// Signs in through the login page: the status, the session cookie (`name=value`, empty
    /// when none was set) and the redirect location.
    pub async fn page_login(&self, user: &str, pw: &str) -> (StatusCode, String, String) {
        let r = self
            .client
            .post(self.url("/login"))
            .form(&[("username", user), ("password", pw), ("next", "/")])
            .send()
            .await
            .expect("login page");
        let status = r.status();
        let header = |name| {
            r.headers()
                .get(name)
                .map(|v| v.to_str().expect("header").to_string())
                .unwrap_or_default()
        };
        let cookie = header(reqwest::header::SET_COOKIE)
            .split(';')
            .next()
            .unwrap_or_default()
            .to_string();
        let loc = header(reqwest::header::LOCATION);
        (status, cookie, loc)
    }

    /// The session cookie of a page login that must succeed.
    pub async fn page_cookie(&self, user: &str, pw: &str) -> String {
        let (_, cookie, _) = self.page_login(user, pw).await;
        assert!(!cookie.is_empty(), "page login of {user} set no cookie");
        cookie
    }

    /// A page fetched with a session cookie: the response.
    pub async fn page_get(&self, cookie: &str, path: &str) -> Response {
        self.client
            .get(self.url(path))
            .header(reqwest::header::COOKIE, cookie)
            .send()
            .await
            .expect("page")
    }

    /// A page form posted with a session cookie: the response.
    pub async fn page_post<F: serde::Serialize + ?Sized>(
        &self,
        cookie: &str,
        path: &str,
        form: &F,
    ) -> Response {
        self.client
            .post(self.url(path))
            .header(reqwest::header::COOKIE, cookie)
            .form(form)
            .send()
            .await
            .expect("page form")
    }

    /// A page fetched with a session cookie: its status and HTML.
    pub async fn page(&self, cookie: &str, path: &str) -> (StatusCode, String) {
        let r = self.page_get(cookie, path).await;
        (r.status(), r.text().await.expect("page body"))
    }

    /// `post`, asserting the status; answers the body.
    pub async fn post_expect(
        &self,
        token: &str,
        path: &str,
        body: &Value,
        want: StatusCode,
    ) -> Value {
        self.send_expect("POST", token, path, body, want).await
    }

    /// `patch`, asserting the status; answers the body.
    pub async fn patch_expect(
        &self,
        token: &str,
        path: &str,
        body: &Value,
        want: StatusCode,
    ) -> Value {
        self.send_expect("PATCH", token, path, body, want).await
    }

    /// `get_json`, asserting the status; answers the body.
    pub async fn get_json_expect(&self, token: &str, path: &str, want: StatusCode) -> Value {
        let (s, v) = self.get_json(token, path).await;
        assert_eq!(s, want, "GET {path}: {v}");
        v
    }

    async fn send_expect(
        &self,
        method: &str,
        token: &str,
        path: &str,
        body: &Value,
        want: StatusCode,
    ) -> Value {
        let (s, v) = self.send_json(method, token, path, body).await;
        assert_eq!(s, want, "{method} {path}: {v}");
        v
    }

    pub async fn delete(&self, token: &str, path: &str) -> StatusCode {
        self.client
            .delete(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("delete")
            .status()
    }

    pub async fn total(&self, path: &str) -> i64 {
        let (s, v) = self.get_json(&self.admin_token, path).await;
        assert_eq!(s, StatusCode::OK, "{path}: {v}");
        v["total"].as_i64().expect("total")
    }

    /// Creates a user with a role and returns a token for them (password already changed).
    pub async fn user_with_role(&self, username: &str, role: &str) -> (i64, String) {
        let initial = "Initial#Pass1";
        let v = self.post_expect(&self.admin_token, "/api/v1/users", &json!({"username": username, "display_name": username, "role": role, "password": initial}), StatusCode::CREATED).await;
        let id = v["id"].as_i64().expect("id");
        let t = self.login_ok(username, initial).await;
        let r = self
            .client
            .post(self.url("/api/v1/auth/password"))
            .bearer_auth(&t)
            .json(&json!({"current_password": initial, "new_password": "Changed#Pass2"}))
            .send()
            .await
            .expect("change");
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
        (id, t)
    }

    pub async fn audit_count(&self) -> i64 {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM audit_events")
            .fetch_one(self.ctx.store.pool())
            .await
            .expect("count")
    }

    /// Runs the real binary with this app's database.
    pub fn cli(&self, args: &[&str]) -> std::process::Output {
        std::process::Command::new(env!("CARGO_BIN_EXE_yunwei"))
            .args(args)
            .arg("--database")
            .arg(&self.database_url)
            .arg("--data-dir")
            .arg(&self.data_dir)
            .env_remove("YUNWEI_ADMIN_PASSWORD")
            .output()
            .expect("run yunwei")
    }
}

/// Asserts the API error shape and returns the code.
pub fn error_code(v: &Value) -> String {
    let e = &v["error"];
    assert!(
        e["code"].is_string() && e["message"].is_string(),
        "not the error shape: {v}"
    );
    e["code"].as_str().unwrap_or_default().to_string()
}

/// A TCP port free on loopback at the time of asking.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// A UDP port free on loopback at the time of asking.
pub fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// The text python-docx (docx) or openpyxl (xlsx) reads from a file, or `None` when the
/// reader is missing (CI requires it).
pub fn read_back(bytes: &[u8], ext: &str) -> Option<String> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(format!("report.{ext}"));
    std::fs::write(&file, bytes).unwrap();
    let script = if ext == "docx" {
        "import sys, docx\nd = docx.Document(sys.argv[1])\nparts = [p.text for p in d.paragraphs]\nfor t in d.tables:\n  for row in t.rows:\n    parts.append('|'.join(c.text for c in row.cells))\nparts.append('creator=' + d.core_properties.author)\nparts.append('title=' + d.core_properties.title)\nprint('\\n'.join(parts))"
    } else {
        "import sys, openpyxl\nwb = openpyxl.load_workbook(sys.argv[1])\nfor ws in wb.worksheets:\n  print('sheet=' + ws.title)\n  for row in ws.iter_rows(values_only=True):\n    print('|'.join('' if v is None else str(v) for v in row))\nprint('creator=' + wb.properties.creator)"
    };
    match std::process::Command::new("python3")
        .args(["-c", script, file.to_str().unwrap()])
        .output()
    {
        Ok(o) if o.status.success() => Some(String::from_utf8_lossy(&o.stdout).into_owned()),
        other => {
            assert!(
                std::env::var("YUNWEI_REQUIRE_BROWSER").is_err(),
                "python-docx and openpyxl are required in CI: {other:?}"
            );
            eprintln!("skipping the read-back of the {ext}: python-docx/openpyxl missing");
            None
        }
    }
}

/// The PDF LibreOffice makes of a file, or `None` when LibreOffice is missing (CI
/// requires it).
pub fn libreoffice_pdf(bytes: &[u8], ext: &str) -> Option<Vec<u8>> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(format!("report.{ext}"));
    std::fs::write(&file, bytes).unwrap();
    let profile = format!("-env:UserInstallation=file://{}/lo", dir.path().display());
    let converted = std::process::Command::new("soffice")
        .args([&profile, "--headless", "--convert-to", "pdf", "--outdir"])
        .arg(dir.path())
        .arg(&file)
        .output();
    let pdf = dir.path().join("report.pdf");
    match converted {
        Ok(o) if o.status.success() && pdf.exists() => Some(std::fs::read(&pdf).unwrap()),
        other => {
            assert!(
                std::env::var("YUNWEI_REQUIRE_BROWSER").is_err(),
                "LibreOffice (soffice) is required in CI: {other:?}"
            );
            eprintln!("skipping the LibreOffice conversion of the {ext}: soffice missing");
            None
        }
    }
}

/// Runs a poppler tool (`pdftotext`, `pdfimages`) on a PDF with `args` before the file
/// (and `-` after it for pdftotext), answering its output.
pub fn poppler(tool: &str, args: &[&str], pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("report.pdf");
    std::fs::write(&file, pdf).unwrap();
    let mut cmd = std::process::Command::new(tool);
    cmd.args(args).arg(&file);
    if tool == "pdftotext" {
        cmd.arg("-");
    }
    let o = cmd.output().unwrap_or_else(|e| {
        panic!("{tool} (poppler-utils) is installed with LibreOffice in CI: {e}")
    });
    assert!(o.status.success(), "{tool} failed");
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The text of the PDF LibreOffice makes of a file, or `None` when LibreOffice or
/// pdftotext is missing (CI requires them).
pub fn via_libreoffice(bytes: &[u8], ext: &str) -> Option<String> {
    let pdf = libreoffice_pdf(bytes, ext)?;
    Some(poppler("pdftotext", &[], &pdf))
}

/// A time in Beijing (UTC+8) as UTC: the tests' clocks and periods are read in Beijing time.
pub fn bj(y: i32, m: u32, d: u32, h: u32, mi: u32) -> chrono::DateTime<Utc> {
    use chrono::TimeZone;
    yunwei::clock::beijing()
        .with_ymd_and_hms(y, m, d, h, mi, 0)
        .unwrap()
        .with_timezone(&Utc)
}

/// The demo (seed inventory and contract) with the manual clock at `start`.
pub async fn demo_at(start: chrono::DateTime<Utc>) -> TestApp {
    spawn_with(Options {
        demo: true,
        start: Some(start),
        ..Options::default()
    })
    .await
}

/// [`demo_at`] with `configure` applied to the configuration before the app starts.
pub async fn demo_at_with(start: chrono::DateTime<Utc>, configure: fn(&mut Config)) -> TestApp {
    spawn_with(Options {
        demo: true,
        start: Some(start),
        configure: Some(configure),
        ..Options::default()
    })
    .await
}

/// The fields a 4xx error names in its details, in the order it names them.
pub fn fields_in_order(v: &Value) -> Vec<String> {
    v["error"]["details"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| e["field"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// The fields a 4xx error names in its details, sorted.
pub fn fields(v: &Value) -> Vec<String> {
    let mut f = fields_in_order(v);
    f.sort();
    f
}

/// The first item of the list at `path` (read as admin) whose `field` is `value`; panics
/// naming what was missing when there is none.
pub async fn find_item(app: &TestApp, path: &str, field: &str, value: &str) -> Value {
    let all = app
        .get_json_expect(&app.admin_token, path, StatusCode::OK)
        .await;
    each(&all["items"])
        .find(|i| i[field] == value)
        .unwrap_or_else(|| panic!("no item with {field} {value} in {path}: {all}"))
        .clone()
}

/// All service lines, as the admin reads them.
pub async fn service_lines(app: &TestApp) -> Value {
    app.get_json_expect(
        &app.admin_token,
        "/api/v1/service-lines?limit=100",
        StatusCode::OK,
    )
    .await
}

/// The service line with the seed's section `code` (e.g. "4.2.7").
pub async fn line_by_code(app: &TestApp, code: &str) -> Value {
    find_item(app, "/api/v1/service-lines?limit=100", "code", code).await
}

/// Posts a page form with the session cookie: the status, the `Location` (empty when
/// none) and the body.
pub async fn post_form(
    app: &TestApp,
    cookie: &str,
    path: &str,
    form: &[(&str, &str)],
) -> (StatusCode, String, String) {
    let r = app
        .client
        .post(app.url(path))
        .header(reqwest::header::COOKIE, cookie)
        .form(form)
        .send()
        .await
        .expect("form post");
    let s = r.status();
    let loc = r
        .headers()
        .get(reqwest::header::LOCATION)
        .map(|v| v.to_str().unwrap_or_default().to_string())
        .unwrap_or_default();
    (s, loc, r.text().await.unwrap_or_default())
}

/// The password `named_user` leaves its accounts with.
pub const NAMED_USER_PASSWORD: &str = "Changed#Pass2";

/// An account with a display name whose first password is already changed (to
/// [`NAMED_USER_PASSWORD`]): its id and an API token.
pub async fn named_user(app: &TestApp, login: &str, name: &str, role: &str) -> (i64, String) {
    let v = app
        .post_expect(
            &app.admin_token,
            "/api/v1/users",
            &json!({"username": login, "display_name": name, "role": role, "password": "Initial#Pass1"}),
            StatusCode::CREATED,
        )
        .await;
    let t = app.login_ok(login, "Initial#Pass1").await;
    let r = app
        .client
        .post(app.url("/api/v1/auth/password"))
        .bearer_auth(&t)
        .json(&json!({"current_password": "Initial#Pass1", "new_password": NAMED_USER_PASSWORD}))
        .send()
        .await
        .expect("password change");
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    (v["id"].as_i64().expect("user id"), t)
}

/// A multipart form with one part `file` holding `bytes` under the file name `name`.
pub fn file_form(name: &str, bytes: impl Into<Vec<u8>>) -> Form {
    Form::new().part(
        "file",
        Part::bytes(bytes.into()).file_name(name.to_string()),
    )
}

/// The id of the seed system whose `field` ("code" or "name") is `value`.
pub async fn system_id_by(app: &TestApp, field: &str, value: &str) -> i64 {
    find_item(app, "/api/v1/systems?limit=500", field, value).await["id"]
        .as_i64()
        .unwrap()
}

/// Creates an inspection plan from `body` (as admin) and runs it once: the plan and the run
/// (its `created` count and `task_ids`).
pub async fn create_and_run_plan(app: &TestApp, body: &Value) -> (Value, Value) {
    let t = &app.admin_token;
    let plan = app
        .post_expect(t, "/api/v1/inspection-plans", body, StatusCode::CREATED)
        .await;
    let run = app
        .post_expect(
            t,
            &format!("/api/v1/inspection-plans/{}/run", plan["id"]),
            &json!({}),
            StatusCode::CREATED,
        )
        .await;
    (plan, run)
}

/// Enters `results` (a `{"readings": …}` body) into inspection task `id` as `token` and
/// submits the task, both expected to succeed: the submitted task.
pub async fn fill_and_submit(
    app: &TestApp,
    token: &str,
    id: impl std::fmt::Display,
    results: &Value,
) -> Value {
    app.post_expect(
        token,
        &format!("/api/v1/inspection-tasks/{id}/results"),
        results,
        StatusCode::OK,
    )
    .await;
    app.post_expect(
        token,
        &format!("/api/v1/inspection-tasks/{id}/actions"),
        &json!({"action": "submit"}),
        StatusCode::OK,
    )
    .await
}

/// Generates a report from `body` as `token` (expecting 201) and downloads its file (expecting
/// 200) from the `file_url` it answers: the report and the file's bytes.
pub async fn generate_report(app: &TestApp, token: &str, body: &Value) -> (Value, Vec<u8>) {
    let r = app
        .post_expect(token, "/api/v1/reports", body, StatusCode::CREATED)
        .await;
    let resp = app.get(token, r["file_url"].as_str().unwrap()).await;
    assert_eq!(resp.status(), StatusCode::OK, "the file of {r}");
    let bytes = resp.bytes().await.unwrap().to_vec();
    (r, bytes)
}

/// The items of a list answer whose `field` is the string `value`.
pub fn items_where<'a>(list: &'a Value, field: &str, value: &str) -> Vec<&'a Value> {
    each(&list["items"]).filter(|i| i[field] == value).collect()
}

/// Puts the staff member with id `staff_id` into the `duty` slot (e.g. "om_engineer") of
/// system `system`.
pub async fn fill_slot(app: &TestApp, system: i64, duty: &str, staff_id: &Value) {
    let (_, slots) = app
        .get_json(
            &app.admin_token,
            &format!("/api/v1/assignments?system_id={system}&duty={duty}"),
        )
        .await;
    let slot = slots["items"][0]["id"].as_i64().unwrap();
    app.patch_expect(
        &app.admin_token,
        &format!("/api/v1/assignments/{slot}"),
        &json!({"staff_id": staff_id}),
        StatusCode::OK,
    )
    .await;
}

/// Makes a self-signed P-256 certificate valid for `days` days with `openssl req -x509`,
/// writing its key to `key` and the certificate to `cert`.
pub fn self_signed_ec(
    openssl: &str,
    days: &str,
    subject: &str,
    key: impl AsRef<std::ffi::OsStr>,
    cert: impl AsRef<std::ffi::OsStr>,
) {
    let out = std::process::Command::new(openssl)
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ])
        .args(["-nodes", "-days", days, "-subj", subject, "-keyout"])
        .arg(key)
        .arg("-out")
        .arg(cert)
        .output()
        .unwrap();
    assert!(out.status.success(), "openssl req -x509: {out:?}");
}

/// The elements of a JSON array, which `v` must be.
pub fn each(v: &Value) -> std::slice::Iter<'_, Value> {
    v.as_array().unwrap().iter()
}

/// Creates a backup policy as the administrator; its id and report token.
pub async fn backup_policy(app: &TestApp, body: &Value) -> (i64, String) {
    let p = app
        .post_expect(
            &app.admin_token,
            "/api/v1/backup-policies",
            body,
            StatusCode::CREATED,
        )
        .await;
    let token = p["report_token"].as_str().unwrap().to_string();
    (p["id"].as_i64().unwrap(), token)
}

/// Reports a backup run with a policy's token, as the backup script does, without a login.
pub async fn report_backup_run(app: &TestApp, token: &str, body: &Value) -> (StatusCode, Value) {
    let r = app
        .client
        .post(app.url(&format!("/api/v1/backup-runs/report/{token}")))
        .json(body)
        .send()
        .await
        .unwrap();
    let s = r.status();
    (s, r.json().await.unwrap_or(Value::Null))
}

/// The (row, column) of each error of a refused import, in order.
pub fn rows_and_columns(errors: &[Value]) -> Vec<(i64, &str)> {
    errors
        .iter()
        .map(|e| (e["row"].as_i64().unwrap(), e["column"].as_str().unwrap()))
        .collect()
}

/// Reads inspection task `id` as `token`, which must succeed.
pub async fn inspection_task(app: &TestApp, token: &str, id: i64) -> Value {
    let path = format!("/api/v1/inspection-tasks/{id}");
    app.get_json_expect(token, &path, StatusCode::OK).await
}

/// The message of an error answer, which `v` must be.
pub fn error_message(v: &Value) -> &str {
    v["error"]["message"].as_str().unwrap()
}

/// Runs monitor `id`'s check now as the administrator, which must answer 200: the result.
pub async fn check_monitor(app: &TestApp, id: i64) -> Value {
    let path = format!("/api/v1/monitors/{id}/check");
    app.post_expect(&app.admin_token, &path, &json!({}), StatusCode::OK)
        .await
}

/// Runs the monthly report job twice at once, both of which must succeed, then once more,
/// which must make nothing: how many reports the two runs made together.
pub async fn monthly_job_twice_at_once(app: &TestApp) -> usize {
    let (a, b) = tokio::join!(
        yunwei::report::monthly(&app.ctx),
        yunwei::report::monthly(&app.ctx)
    );
    let made = a.unwrap() + b.unwrap();
    assert_eq!(yunwei::report::monthly(&app.ctx).await.unwrap(), 0);
    made
}

/// The contract with its quality targets measured over `period` (`YYYY-MM`), read by the
/// administrator.
pub async fn contract_for(app: &TestApp, period: &str) -> Value {
    let path = format!("/api/v1/contract?period={period}");
    app.get_json_expect(&app.admin_token, &path, StatusCode::OK)
        .await
}

/// The backup coverage of `month` (`YYYY-MM`), read by the administrator.
pub async fn backup_coverage(app: &TestApp, month: &str) -> Value {
    let path = format!("/api/v1/backups/coverage?month={month}");
    app.get_json_expect(&app.admin_token, &path, StatusCode::OK)
        .await
}

/// Creates a record by posting `body` to `path` as `token`, which must answer 201: its id.
pub async fn created_id(app: &TestApp, token: &str, path: &str, body: &Value) -> i64 {
    app.post_expect(token, path, body, StatusCode::CREATED)
        .await["id"]
        .as_i64()
        .unwrap()
}

/// A requirement's steps from proposed to delivered, in order.
pub const TO_DELIVERY: [&str; 5] = [
    "analysing",
    "approved",
    "scheduled",
    "in_development",
    "delivered",
];

/// Service line `line`'s indicators for November 2025, read as `token`.
pub async fn november_stats(app: &TestApp, token: &str, line: impl std::fmt::Display) -> Value {
    let path = format!("/api/v1/service-lines/{line}/stats?from=2025-11-01&to=2025-11-30");
    app.get_json_expect(token, &path, StatusCode::OK).await
}

/// Confirms a work record through its link `path` with the rating 满意, as `client` (no
/// account): the response.
pub async fn rate_satisfied(client: &Client, app: &TestApp, path: &str) -> Response {
    client
        .post(app.url(path))
        .form(&[("rating", "满意")])
        .send()
        .await
        .unwrap()
}

/// The days of calendar `cal` from `from` to `to` (dates), read by the administrator.
pub async fn calendar_days(app: &TestApp, cal: i64, from: &str, to: &str) -> Value {
    let path = format!("/api/v1/calendars/{cal}/days?from={from}&to={to}");
    app.get_json_expect(&app.admin_token, &path, StatusCode::OK)
        .await
}

/// Work record `id` as `token` reads it, which must succeed.
pub async fn work_record(app: &TestApp, token: &str, id: impl std::fmt::Display) -> Value {
    let path = format!("/api/v1/work-records/{id}");
    app.get_json_expect(token, &path, StatusCode::OK).await
}

/// `yunwei audit verify` must pass: the audit log's hash chain is intact.
pub fn assert_audit_log_intact(app: &TestApp) {
    let out = app.cli(&["audit", "verify"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Starts a test peer (a server the probes talk to) with its output silenced; it is
/// killed when the child is dropped.
pub fn spawn_quiet(cmd: &mut tokio::process::Command) -> tokio::process::Child {
    cmd.kill_on_drop(true)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
}
