//! `Ctx`: what every service function needs (storage, configuration, the clock and the
//! shared state of the engines). `app::Application` builds it; services take it, so they
//! never depend on the application that wires the web server and the jobs.

use std::sync::Arc;

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
