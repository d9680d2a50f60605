//! `Application::build(config, listener)` wires storage, services and the web server; `run`
//! serves until shutdown. Tests build it on `127.0.0.1:0` with their own clock.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::clock::Clock;
use crate::config::Config;
use crate::store::Store;

/// What every service function needs: storage, configuration and the clock.
#[derive(Clone)]
pub struct Ctx {
    pub store: Store,
    pub config: Arc<Config>,
    pub clock: Clock,
    /// Encrypts channel secrets at rest.
    pub secrets: Arc<crate::notify::secrets::SecretBox>,
    /// The monitoring engine's shared state (HTTP pools, state machines).
    pub monitors: Arc<crate::monitor::Shared>,
    /// Bounds on imports and logins.
    pub gates: Arc<crate::gate::Gates>,
    /// The outbound TLS trust policy (system roots plus `tls_ca_file`), read at start.
    pub tls: Arc<crate::tls::Trust>,
}

impl Ctx {
    pub fn new(
        store: Store,
        config: Config,
        clock: Clock,
        secrets: crate::notify::secrets::SecretBox,
    ) -> anyhow::Result<Ctx> {
        // One rustls crypto provider for every TLS client (SMTP, webhooks, probes).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let tls = Arc::new(
            crate::tls::Trust::load(config.tls_ca_file.as_deref()).map_err(anyhow::Error::msg)?,
        );
        Ok(Ctx {
            store,
            gates: Arc::new(crate::gate::Gates::new(&config)),
            config: Arc::new(config),
            clock,
            secrets: Arc::new(secrets),
            monitors: Arc::new(crate::monitor::Shared::new(tls.clone())?),
            tls,
        })
    }
}

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
