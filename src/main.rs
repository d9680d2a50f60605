//! The `yunwei` command line: parse, set up logging, load and validate the configuration,
//! then run the chosen subcommand.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use yunwei::config::{Config, LogFormat, Secret};
use yunwei::{Application, Clock};

/// jemalloc with background purging gives memory back to the system once a burst is over.
#[cfg(all(target_os = "linux", not(target_env = "musl")))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[derive(Parser)]
#[command(
    name = "yunwei",
    version,
    about = "运维平台：政务信息化运维运营合同的一体化管理"
)]
struct Cli {
    /// TOML configuration file.
    #[arg(long, env = "YUNWEI_CONFIG", global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone, Default)]
struct DbArgs {
    /// Database URL: sqlite://FILE or postgres://… (default: SQLite file in the data dir).
    #[arg(long, env = "YUNWEI_DATABASE_URL")]
    database: Option<String>,
    /// Data directory (default ./yunwei-data).
    #[arg(long, env = "YUNWEI_DATA_DIR")]
    data_dir: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the web server (UI and API).
    Serve {
        #[command(flatten)]
        db: DbArgs,
        /// Listen address (default 127.0.0.1:8080).
        #[arg(long, env = "YUNWEI_LISTEN")]
        listen: Option<String>,
        /// Load the seed contract into an empty database, with a simulated history.
        #[arg(long)]
        demo: bool,
        /// Days of simulated history `--demo` adds (default 90; 0: the contract only).
        #[arg(long, env = "YUNWEI_DEMO_DAYS")]
        demo_days: Option<u32>,
    },
    /// Print the effective configuration (secrets redacted).
    Config {
        #[command(flatten)]
        db: DbArgs,
    },
    /// Audit log tools.
    Audit {
        #[command(subcommand)]
        cmd: AuditCmd,
    },
    /// Import a CSV or XLSX file into a collection (assets, systems, staff, sites).
    Import {
        collection: String,
        file: PathBuf,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Account recovery.
    User {
        #[command(subcommand)]
        cmd: UserCmd,
    },
    /// Holiday arrangements of the working-hours calendars.
    Calendar {
        #[command(subcommand)]
        cmd: CalendarCmd,
    },
    /// Generate a report (the same document as POST /api/v1/reports) into a file.
    Report {
        /// inspection_monthly, inspection_cycle, requirements_list (all lines and systems),
        /// support_table, line_monthly or cloud_utilization.
        kind: String,
        /// 2025-11 (a month), 2025 (a year) or 2025-11-01..2025-11-30.
        #[arg(long)]
        period: String,
        /// docx or xlsx.
        #[arg(long, default_value = "docx")]
        format: String,
        /// inspection_monthly: infrastructure (default) or systems.
        #[arg(long)]
        scope: Option<String>,
        /// inspection_cycle: the plan's id.
        #[arg(long)]
        plan_id: Option<i64>,
        /// support_table, line_monthly: the service line's id.
        #[arg(long)]
        line_id: Option<i64>,
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Build the acceptance package (the same ZIP as GET /api/v1/acceptance-package).
    AcceptancePackage {
        /// om (the O&M service period), operations or all.
        #[arg(long, default_value = "all")]
        period: String,
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        db: DbArgs,
    },
    /// yunwei's own online backup: a consistent snapshot of the database (read in one
    /// transaction) and the data directory's stored files, in one ZIP with a manifest and
    /// SHA-256 checksums. Restores on either database.
    Backup {
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Restore a `yunwei backup` archive into an empty database and data directory
    /// (checksums verified before anything is written; the audit chain after).
    Restore {
        file: PathBuf,
        /// Replace a target that holds data (its database and stored files are removed first).
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Export a collection as XLSX or CSV.
    Export {
        collection: String,
        #[arg(long, default_value = "xlsx")]
        format: String,
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Subcommand)]
enum UserCmd {
    /// Print a one-time password for USERNAME (to be changed at the next login), clear a
    /// lockout and end the user's sessions. Audited.
    ResetPassword {
        username: String,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Subcommand)]
enum CalendarCmd {
    /// Load a year's holiday arrangement from a CSV or JSON file of rows
    /// `date,working,reason` (working: true/false or 上班/休息). A year that already has
    /// days is shown as a diff and changed only with --yes.
    Import {
        file: PathBuf,
        /// Calendar id or name (default: the only working-hours calendar).
        #[arg(long)]
        calendar: Option<String>,
        /// Only print the diff.
        #[arg(long)]
        dry_run: bool,
        /// Apply even though the year already has days (after checking the diff).
        #[arg(long)]
        yes: bool,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Subcommand)]
enum AuditCmd {
    /// Check the hash chain; exits non-zero naming the first broken record.
    Verify {
        #[command(flatten)]
        db: DbArgs,
    },
    /// Remove records older than N days (never fewer than the retention, at least 180).
    Purge {
        #[arg(long)]
        older_than_days: i64,
        #[command(flatten)]
        db: DbArgs,
    },
}

fn load_config(file: Option<&PathBuf>, db: &DbArgs) -> Result<Config, String> {
    let mut c = match file {
        Some(p) => Config::from_toml_file(p)?,
        None => Config::default(),
    };
    if let Some(d) = &db.database {
        c.database_url = Some(Secret(d.clone()));
    }
    if let Some(d) = &db.data_dir {
        c.data_dir = d.clone();
    }
    if let Ok(p) = std::env::var("YUNWEI_ADMIN_PASSWORD")
        && !p.is_empty()
    {
        c.admin_password = Some(Secret(p));
    }
    if let Ok(k) = std::env::var("YUNWEI_SECRET_KEY")
        && !k.is_empty()
    {
        c.secret_key = Some(Secret(k));
    }
    if let Ok(t) = std::env::var("YUNWEI_METRICS_TOKEN")
        && !t.is_empty()
    {
        c.metrics_token = Some(Secret(t));
    }
    if let Ok(v) = std::env::var("YUNWEI_LOG_FORMAT") {
        c.log_format = match v.as_str() {
            "json" => LogFormat::Json,
            "human" => LogFormat::Human,
            other => {
                return Err(format!(
                    "YUNWEI_LOG_FORMAT: '{other}' is not one of human, json"
                ));
            }
        };
    }
    if let Ok(v) = std::env::var("YUNWEI_TLS_CA_FILE")
        && !v.is_empty()
    {
        c.tls_ca_file = Some(PathBuf::from(v));
    }
    if let Ok(v) = std::env::var("YUNWEI_REPORT_FONT")
        && !v.is_empty()
    {
        c.report_font = Some(v);
    }
    if let Ok(v) = std::env::var("YUNWEI_LOG_LEVEL") {
        c.log_level = v;
    }
    if let Ok(v) = std::env::var("YUNWEI_MONITORING_ENABLED") {
        c.monitoring.enabled = match v.as_str() {
            "true" | "1" => true,
            "false" | "0" => false,
            other => {
                return Err(format!(
                    "YUNWEI_MONITORING_ENABLED: '{other}' is not one of true, false"
                ));
            }
        };
    }
    c.validate()?;
    Ok(c)
}

fn init_tracing(c: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("RUST_LOG").unwrap_or_else(|_| {
        // async-snmp logs every failed request at ERROR; the probe result already says
        // what failed, in Chinese, so its lines would only repeat it once a minute.
        tracing_subscriber::EnvFilter::new(format!("{},sqlx=warn,async_snmp=off", c.log_level))
    });
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match c.log_format {
        LogFormat::Json => b.json().init(),
        LogFormat::Human => b.init(),
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}

async fn open_ctx(c: Config) -> anyhow::Result<yunwei::Ctx> {
    let store = yunwei::store::Store::connect(&c).await?;
    let secrets = yunwei::notify::secrets::SecretBox::load(
        c.secret_key.as_ref().map(|k| k.0.as_str()),
        &c.data_dir,
    )?;
    yunwei::Ctx::new(store, c, Clock::system(), secrets)
}

/// The context of a command that works on the database.
async fn ctx_of(file: Option<&PathBuf>, db: &DbArgs) -> anyhow::Result<yunwei::Ctx> {
    open_ctx(load_config(file, db).map_err(anyhow::Error::msg)?).await
}

/// A command's failure: `msg` on stderr, exit code 1.
fn failed(msg: impl std::fmt::Display) -> anyhow::Result<ExitCode> {
    eprintln!("{msg}");
    Ok(ExitCode::from(1))
}

/// The name and bytes of an input file.
fn read_input(file: &std::path::Path) -> anyhow::Result<(String, Vec<u8>)> {
    let data =
        std::fs::read(file).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    Ok((name, data))
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve {
            db,
            listen,
            demo,
            demo_days,
        } => {
            let mut c = load_config(cli.config.as_ref(), &db).map_err(anyhow::Error::msg)?;
            if let Some(l) = listen {
                c.listen = l.parse().map_err(|_| {
                    anyhow::anyhow!(
                        "YUNWEI_LISTEN / --listen: '{l}' is not an address like 127.0.0.1:8080"
                    )
                })?;
            }
            c.demo |= demo;
            if let Some(d) = demo_days {
                c.demo_days = d;
                c.validate().map_err(anyhow::Error::msg)?;
            }
            init_tracing(&c);
            let listener = tokio::net::TcpListener::bind(c.listen)
                .await
                .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", c.listen))?;
            let app = Application::build(c, listener, Clock::system()).await?;
            if let Some(pw) = &app.generated_admin_password {
                println!(
                    "首次启动：已创建管理员账号 admin，初始密码 {pw}（仅显示这一次，首次登录后须修改）"
                );
            }
            tracing::info!(addr = %app.local_addr()?, "yunwei listening");
            app.run_until(shutdown_signal()).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Config { db } => {
            let c = load_config(cli.config.as_ref(), &db).map_err(anyhow::Error::msg)?;
            print!("{}", c.redacted_toml());
            Ok(ExitCode::SUCCESS)
        }
        Command::Audit {
            cmd: AuditCmd::Verify { db },
        } => {
            let ctx = ctx_of(cli.config.as_ref(), &db).await?;
            match ctx.store.verify_audit().await? {
                yunwei::store::audit::Verification::Intact { records } => {
                    println!("audit chain intact: {records} records");
                    Ok(ExitCode::SUCCESS)
                }
                yunwei::store::audit::Verification::Broken { seq, reason } => {
                    eprintln!("audit chain broken at record {seq}: {reason}");
                    Ok(ExitCode::from(2))
                }
            }
        }
        Command::Audit {
            cmd:
                AuditCmd::Purge {
                    older_than_days,
                    db,
                },
        } => {
            let c = load_config(cli.config.as_ref(), &db).map_err(anyhow::Error::msg)?;
            if older_than_days < c.audit.retention_days {
                anyhow::bail!(
                    "--older-than-days must be at least {} (audit.retention_days)",
                    c.audit.retention_days
                );
            }
            let ctx = open_ctx(c).await?;
            let cutoff = ctx.clock.now_ms() - older_than_days * 86_400_000;
            let n = ctx.store.purge_audit(cutoff).await?;
            println!("removed {n} audit records older than {older_than_days} days");
            Ok(ExitCode::SUCCESS)
        }
        Command::Import {
            collection,
            file,
            db,
        } => {
            let ctx = ctx_of(cli.config.as_ref(), &db).await?;
            let (name, data) = read_input(&file)?;
            match yunwei::cli::import(&ctx, &collection, &name, &data).await {
                Ok(n) => {
                    println!("imported {n} rows into {collection}");
                    Ok(ExitCode::SUCCESS)
                }
                Err(msg) => failed(msg),
            }
        }
        Command::User {
            cmd: UserCmd::ResetPassword { username, db },
        } => {
            let ctx = ctx_of(cli.config.as_ref(), &db).await?;
            match yunwei::cli::reset_password(&ctx, &username).await {
                Ok((password, user)) => {
                    println!("已重置用户 {} 的密码。", user.username);
                    println!("一次性密码：{password}");
                    println!(
                        "（仅显示这一次；登录后必须立即修改。已解除账号锁定，并退出了该用户的全部会话。）"
                    );
                    if user.disabled != 0 {
                        println!(
                            "注意：该账号已停用，需由系统管理员在“账号管理”中启用后才能登录。"
                        );
                    }
                    Ok(ExitCode::SUCCESS)
                }
                Err(msg) => failed(msg),
            }
        }
        Command::Calendar {
            cmd:
                CalendarCmd::Import {
                    file,
                    calendar,
                    dry_run,
                    yes,
                    db,
                },
        } => {
            let ctx = ctx_of(cli.config.as_ref(), &db).await?;
            let limit = yunwei::domain::holidays::MAX_FILE_BYTES as u64;
            let size = std::fs::metadata(&file)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?
                .len();
            if size > limit {
                eprintln!(
                    "节假日安排文件不能超过 {} KB，请只保留需要导入的年份",
                    limit / 1024
                );
                return Ok(ExitCode::from(1));
            }
            let (name, data) = read_input(&file)?;
            let req = yunwei::holidays::ImportRequest {
                dry_run,
                confirm: yes,
                base: None,
                label: None,
            };
            use yunwei::holidays::ImportOutcome;
            match yunwei::cli::calendar_import(&ctx, calendar.as_deref(), &name, &data, &req).await
            {
                Ok((cal, ImportOutcome::Preview(d))) => {
                    print!("{}", yunwei::cli::render_diff(&d));
                    println!("预览：日历“{}”未做任何修改。", cal.name);
                    Ok(ExitCode::SUCCESS)
                }
                Ok((cal, ImportOutcome::Applied(d))) => {
                    print!("{}", yunwei::cli::render_diff(&d));
                    println!("已导入到日历“{}”。", cal.name);
                    Ok(ExitCode::SUCCESS)
                }
                Ok((cal, ImportOutcome::NeedsConfirmation(d))) => {
                    print!("{}", yunwei::cli::render_diff(&d));
                    eprintln!(
                        "日历“{}”的这些年份已有安排，以上差异未导入。核对无误后加 --yes 重新运行。",
                        cal.name
                    );
                    Ok(ExitCode::from(3))
                }
                Err(msg) => failed(msg),
            }
        }
        Command::Report {
            kind,
            period,
            format,
            scope,
            plan_id,
            line_id,
            out,
            db,
        } => {
            let ctx = ctx_of(cli.config.as_ref(), &db).await?;
            match yunwei::cli::report(
                &ctx,
                &kind,
                &period,
                &format,
                scope.as_deref(),
                plan_id,
                line_id,
            )
            .await
            {
                Ok((bytes, name)) => {
                    std::fs::write(&out, bytes)
                        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", out.display()))?;
                    println!("{name} → {}", out.display());
                    Ok(ExitCode::SUCCESS)
                }
                Err(m) => failed(m),
            }
        }
        Command::AcceptancePackage { period, out, db } => {
            let ctx = ctx_of(cli.config.as_ref(), &db).await?;
            match yunwei::cli::acceptance_package(&ctx, &period, &out).await {
                Ok(name) => {
                    println!("{name} → {}", out.display());
                    Ok(ExitCode::SUCCESS)
                }
                Err(m) => failed(m),
            }
        }
        Command::Backup { out, db } => {
            let c = load_config(cli.config.as_ref(), &db).map_err(anyhow::Error::msg)?;
            let now = Clock::system().now_ms();
            let s = yunwei::selfbackup::backup(&c, &out, now).await?;
            println!(
                "backup written to {}: {} tables, {} rows, {} files, {} bytes",
                out.display(),
                s.tables,
                s.rows,
                s.files,
                s.bytes
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Restore { file, force, db } => {
            let c = load_config(cli.config.as_ref(), &db).map_err(anyhow::Error::msg)?;
            use yunwei::selfbackup::RestoreError;
            let now = Clock::system().now_ms();
            match yunwei::selfbackup::restore(&c, &file, force, now).await {
                Ok(s) => {
                    let rows: i64 = s.manifest.tables.iter().map(|t| t.rows).sum();
                    println!(
                        "restored {} tables, {rows} rows and {} files from {} (made on {}); \
                         audit chain intact: {} records, the restore recorded as the last",
                        s.manifest.tables.len(),
                        s.manifest.files.len(),
                        file.display(),
                        s.manifest.backend,
                        s.audit_records
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(e @ RestoreError::Archive(_)) => {
                    eprintln!("backup refused, nothing changed: {e}");
                    Ok(ExitCode::from(4))
                }
                Err(e @ RestoreError::NotEmpty(_)) => {
                    eprintln!("{e}");
                    Ok(ExitCode::from(3))
                }
                Err(e @ RestoreError::AuditBroken(_)) => {
                    eprintln!("restored, but {e}");
                    Ok(ExitCode::from(2))
                }
                Err(RestoreError::Other(e)) => Err(e),
            }
        }
        Command::Export {
            collection,
            format,
            out,
            db,
        } => {
            let ctx = ctx_of(cli.config.as_ref(), &db).await?;
            let bytes = yunwei::cli::export(&ctx, &collection, &format)
                .await
                .map_err(anyhow::Error::msg)?;
            std::fs::write(&out, bytes)
                .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", out.display()))?;
            println!("exported {collection} to {}", out.display());
            Ok(ExitCode::SUCCESS)
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
