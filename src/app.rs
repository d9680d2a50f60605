//! `Application::build(config, listener)` wires storage, services and the web server; `run`
//! serves until shutdown. Tests build it on `127.0.0.1:0` with their own clock.

use std::net::SocketAddr;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::clock::Clock;
use crate::config::Config;
use crate::store::Store;

pub use crate::ctx::Ctx;

pub struct Application {
    listener: TcpListener,
    ctx: Ctx,
    /// The generated first admin password, when one was generated at this start.
    pub generated_admin_password: Option<String>,
}

impl Application {
    /// Connects to the database, migrates, creates the first admin, loads the demo data
    /// when asked, and binds nothing new: the listener is the caller's.
    pub async fn build(
        config: Config,
        listener: TcpListener,
        clock: Clock,
    ) -> anyhow::Result<Self> {
        // One rustls crypto provider for every TLS client (SMTP, webhooks).
        let _ = rustls::crypto::ring::default_provider().install_default();
        config.validate().map_err(anyhow::Error::msg)?;
        let store = Store::connect(&config).await?;
        let secrets = crate::notify::secrets::SecretBox::load(
            config.secret_key.as_ref().map(|k| k.0.as_str()),
            &config.data_dir,
        )
        .context("loading the secret key")?;
        let ctx = Ctx::new(store, config, clock, secrets)?;
        let generated_admin_password = crate::accounts::ensure_first_admin(&ctx)
            .await
            .context("creating the first admin")?;
        crate::desk::ensure_defaults(&ctx)
            .await
            .context("creating the default calendars and SLA policies")?;
        // The shipped holiday years are data in the binary, so a new release brings its
        // years to an existing install here rather than in a one-time SQL migration.
        crate::holidays::add_shipped_years(&ctx)
            .await
            .context("adding the shipped holiday years")?;
        // yunwei's own scheduled backup reports into its built-in policy, there from the
        // start so that a first run that never comes is a missed run.
        crate::backup::scheduled::ensure_builtin(&ctx)
            .await
            .map_err(|e| anyhow::anyhow!("the built-in self-backup policy: {e}"))?;
        if ctx.config.demo {
            crate::demo::load_if_empty(&ctx)
                .await
                .context("loading the demo data")?;
        }
        Ok(Self {
            listener,
            ctx,
            generated_admin_password,
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    pub fn ctx(&self) -> &Ctx {
        &self.ctx
    }

    /// Serves until `shutdown` completes, then finishes open requests and closes the pool.
    pub async fn run_until(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let router = crate::web::router(self.ctx.clone());
        let jobs = crate::jobs::start(&self.ctx);
        axum::serve(
            self.listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await
        .context("server error")?;
        jobs.stop();
        self.ctx.store.close().await;
        Ok(())
    }
}
