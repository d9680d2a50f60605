//! Bounds on the work outside input can start: password hashing on a small fixed pool of
//! threads with reused memory, failed logins throttled per client IP, imports a few at a
//! time, and which client IP a request comes from (`X-Forwarded-For` only from configured
//! proxies).

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, OnceLock, mpsc};

use argon2::password_hash::{Output, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use password_hash::rand_core::OsRng;

/// Threads hashing passwords. Each keeps one argon2 memory block (19 MiB with the default
/// parameters) while hashes keep coming, so a burst of logins costs a fixed amount of
/// memory instead of one fresh 19 MiB allocation per request left in the allocator's
/// arenas, and gives it back after [`HASH_IDLE_RELEASE`] without work.
pub const HASH_WORKERS: usize = 1;
/// How long a hashing thread keeps its memory block without work.
pub const HASH_IDLE_RELEASE: std::time::Duration = std::time::Duration::from_secs(3);
/// The block is allocated with room for this many 1 KiB blocks (33 MiB; only the 19 MiB
/// used are ever touched, so only they are resident). glibc serves an allocation above its
/// dynamic mmap threshold (at most 32 MiB) with its own mapping and unmaps it when freed;
/// a 19 MiB allocation would, after the first free, come from an arena whose top is
/// trimmed only past 2× that threshold, so the memory would stay in the process.
const BLOCK_CAPACITY: usize = 33 * 1024;
/// Hash jobs waiting for a worker before new ones are refused with 429.
pub const HASH_QUEUE: usize = 256;
/// Largest argon2 memory cost accepted from a stored hash (KiB), so a tampered row
/// cannot make a worker allocate without bound.
const MAX_M_COST: u32 = 256 * 1024;

enum Job {
    Hash {
        password: String,
        reply: tokio::sync::oneshot::Sender<Option<String>>,
    },
    Verify {
        phc: String,
        password: String,
        reply: tokio::sync::oneshot::Sender<bool>,
    },
}

/// The process's password hasher: a bounded queue in front of [`HASH_WORKERS`] threads.
pub struct Hasher {
    tx: mpsc::SyncSender<Job>,
}

/// The queue is full: too many logins at once.
#[derive(Debug)]
pub struct Busy;

impl Hasher {
    /// The one hasher of this process (threads start on first use).
    pub fn global() -> &'static Hasher {
        static H: OnceLock<Hasher> = OnceLock::new();
        H.get_or_init(|| {
            let (tx, rx) = mpsc::sync_channel::<Job>(HASH_QUEUE);
            let rx = Arc::new(Mutex::new(rx));
            for i in 0..HASH_WORKERS {
                let rx = rx.clone();
                let spawned = std::thread::Builder::new()
                    .name(format!("yunwei-hash-{i}"))
                    .stack_size(256 * 1024)
                    .spawn(move || worker(&rx));
                if let Err(e) = spawned {
                    tracing::error!(error = %e, "cannot start a password hashing thread");
                }
            }
            Hasher { tx }
        })
    }

    /// An argon2id PHC string for the password, with a fresh salt.
    pub async fn hash(&self, password: &str) -> Result<Option<String>, Busy> {
        let (reply, rx) = tokio::sync::oneshot::channel();
        self.tx
            .try_send(Job::Hash {
                password: password.to_string(),
                reply,
            })
            .map_err(|_| Busy)?;
        Ok(rx.await.ok().flatten())
    }

    /// Whether the password matches the PHC string (false for anything malformed).
    pub async fn verify(&self, phc: &str, password: &str) -> Result<bool, Busy> {
        let (reply, rx) = tokio::sync::oneshot::channel();
        self.tx
            .try_send(Job::Verify {
                phc: phc.to_string(),
                password: password.to_string(),
                reply,
            })
            .map_err(|_| Busy)?;
        Ok(rx.await.unwrap_or(false))
    }
}

fn worker(rx: &Mutex<mpsc::Receiver<Job>>) {
    let mut memory: Vec<Block> = Vec::new();
    loop {
        let job = {
            let guard = match rx.lock() {
                Ok(g) => g,
                Err(p) => p.into_inner(),
            };
            match guard.recv_timeout(HASH_IDLE_RELEASE) {
                Ok(j) => j,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    memory = Vec::new();
                    continue;
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => return,
            }
        };
        match job {
            Job::Hash { password, reply } => {
                let _ = reply.send(hash_with(&mut memory, &password));
            }
            Job::Verify {
                phc,
                password,
                reply,
            } => {
                let _ = reply.send(verify_with(&mut memory, &phc, &password));
            }
        }
    }
}

fn memory_for(memory: &mut Vec<Block>, params: &Params) -> bool {
    if params.m_cost() > MAX_M_COST {
        return false;
    }
    let n = params.block_count();
    if memory.len() != n {
        *memory = Vec::new();
        let mut fresh = Vec::with_capacity(n.max(BLOCK_CAPACITY));
        fresh.resize(n, Block::default());
        *memory = fresh;
    }
    true
}

fn hash_with(memory: &mut Vec<Block>, password: &str) -> Option<String> {
    let params = Params::default();
    if !memory_for(memory, &params) {
        return None;
    }
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_buf = [0u8; 64];
    let salt_bytes = salt.decode_b64(&mut salt_buf).ok()?;
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    let a = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    a.hash_password_into_with_memory(password.as_bytes(), salt_bytes, &mut out, &mut memory[..])
        .ok()?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: argon2::password_hash::ParamsString::try_from(&params).ok()?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).ok()?),
    };
    Some(phc.to_string())
}

fn verify_with(memory: &mut Vec<Block>, phc: &str, password: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    let Ok(alg) = Algorithm::try_from(parsed.algorithm) else {
        return false;
    };
    let version = match parsed.version.map(Version::try_from) {
        Some(Ok(v)) => v,
        Some(Err(_)) => return false,
        None => Version::default(),
    };
    let Ok(params) = Params::try_from(&parsed) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    if !memory_for(memory, &params) {
        return false;
    }
    let mut salt_buf = [0u8; 64];
    let Ok(salt_bytes) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let mut out = vec![0u8; expected.len()];
    let a = Argon2::new(alg, version, params);
    a.hash_password_into_with_memory(password.as_bytes(), salt_bytes, &mut out, &mut memory[..])
        .is_ok()
        // Output's equality is constant-time.
        && Output::new(&out).is_ok_and(|o| o == expected)
}

/// Failed logins per client IP in a sliding window. An attempt holds a place in the window
/// from the moment it is let in until it ends ([`LoginAttempt`]), so concurrent attempts
/// from one address cannot slip past the limit while their passwords are being hashed.
/// Bounded: at most `MAX_TRACKED_IPS` addresses are kept; when full, addresses with nothing
/// in the window and no attempt in flight are dropped first, then the one whose last
/// failure is oldest.
pub struct LoginThrottle {
    max_failures: usize,
    window_ms: i64,
    ips: Mutex<HashMap<IpAddr, Tracked>>,
}

#[derive(Default)]
struct Tracked {
    failures: VecDeque<i64>,
    in_flight: usize,
}

const MAX_TRACKED_IPS: usize = 10_000;

/// A login attempt let in by [`LoginThrottle::begin`]. Dropping it (success, or the
/// request abandoned) gives its place back; [`LoginAttempt::failed`] turns it into a
/// failure in the window.
pub struct LoginAttempt<'a> {
    throttle: &'a LoginThrottle,
    ip: Option<IpAddr>,
}

impl LoginAttempt<'_> {
    pub fn failed(mut self, now_ms: i64) {
        if let Some(ip) = self.ip.take() {
            self.throttle.end(ip, Some(now_ms));
        }
    }
}

impl Drop for LoginAttempt<'_> {
    fn drop(&mut self) {
        if let Some(ip) = self.ip.take() {
            self.throttle.end(ip, None);
        }
    }
}

impl LoginThrottle {
    pub fn new(max_failures: usize, window_ms: i64) -> Self {
        LoginThrottle {
            max_failures,
            window_ms,
            ips: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, Tracked>> {
        match self.ips.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// Lets an attempt from the address in, or `Err(seconds to wait)` when its failures
    /// and the attempts still in flight fill the window.
    pub fn begin(&self, ip: IpAddr, now_ms: i64) -> Result<LoginAttempt<'_>, u64> {
        if self.max_failures == 0 {
            return Ok(LoginAttempt {
                throttle: self,
                ip: None,
            });
        }
        let mut g = self.lock();
        if !g.contains_key(&ip) && g.len() >= MAX_TRACKED_IPS {
            self.make_room(&mut g, now_ms);
        }
        let t = g.entry(ip).or_default();
        while t
            .failures
            .front()
            .is_some_and(|f| *f <= now_ms - self.window_ms)
        {
            t.failures.pop_front();
        }
        if t.failures.len() + t.in_flight >= self.max_failures {
            // Attempts in flight count as failures made now until they end.
            let oldest = t.failures.front().copied().unwrap_or(now_ms);
            let wait_ms = (oldest + self.window_ms - now_ms).max(1000);
            return Err(((wait_ms + 999) / 1000) as u64);
        }
        t.in_flight += 1;
        Ok(LoginAttempt {
            throttle: self,
            ip: Some(ip),
        })
    }

    /// Counts one request from the address (every request, not only failures: a plain
    /// rate limit of `max_failures` per window), or `Err(seconds to wait)` when the window
    /// is full.
    pub fn hit(&self, ip: IpAddr, now_ms: i64) -> Result<(), u64> {
        self.begin(ip, now_ms)?.failed(now_ms);
        Ok(())
    }

    fn end(&self, ip: IpAddr, failed_at: Option<i64>) {
        let mut g = self.lock();
        let Some(t) = g.get_mut(&ip) else {
            return;
        };
        t.in_flight = t.in_flight.saturating_sub(1);
        if let Some(now_ms) = failed_at {
            t.failures.push_back(now_ms);
            while t.failures.len() > self.max_failures {
                t.failures.pop_front();
            }
        }
        if t.in_flight == 0 && t.failures.is_empty() {
            g.remove(&ip);
        }
    }

    fn make_room(&self, g: &mut HashMap<IpAddr, Tracked>, now_ms: i64) {
        let cutoff = now_ms - self.window_ms;
        g.retain(|_, t| t.in_flight > 0 || t.failures.back().is_some_and(|f| *f > cutoff));
        if g.len() >= MAX_TRACKED_IPS
            && let Some(victim) = g
                .iter()
                .filter(|(_, t)| t.in_flight == 0)
                .min_by_key(|(_, t)| t.failures.back().copied().unwrap_or(i64::MIN))
                .map(|(k, _)| *k)
        {
            g.remove(&victim);
        }
    }
}

/// An IP network from `10.0.0.0/8`, `::1/128` or a bare address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    pub fn parse(s: &str) -> Result<IpNet, String> {
        let (a, p) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = a
            .trim()
            .parse()
            .map_err(|_| format!("'{s}' is not an IP address or CIDR network"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            Some(p) => p
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|n| *n <= max)
                .ok_or_else(|| format!("'{s}': prefix length must be 0–{max}"))?,
            None => max,
        };
        Ok(IpNet { addr, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match (self.addr, ip) {
            (IpAddr::V4(_), IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => return false,
            },
            _ => ip,
        };
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX.checked_shl(32 - self.prefix as u32).unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX.checked_shl(128 - self.prefix as u32).unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// The client's address: the peer, unless the peer is a trusted proxy, in which case the
/// right-most `X-Forwarded-For` entry that is not itself a trusted proxy.
pub fn client_ip(peer: IpAddr, forwarded_for: Option<&str>, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(peer) {
        return peer;
    }
    let Some(xff) = forwarded_for else {
        return peer;
    };
    let mut last = peer;
    // Bounded: at most 32 hops are looked at.
    for part in xff.rsplit(',').take(32) {
        let Ok(ip) = part.trim().parse::<IpAddr>() else {
            return last;
        };
        if !is_trusted(ip) {
            return ip;
        }
        last = ip;
    }
    last
}

/// Requests a client IP may make to the public confirmation page per minute.
pub const CONFIRM_PAGE_LIMIT: usize = 30;

/// Reports a client IP may post to the public backup report URLs per minute: a backup
/// server reports the start and end of each of its jobs, and a guessed token costs a
/// request too.
pub const BACKUP_REPORT_LIMIT: usize = 600;

/// Per-application bounds, shared by every request.
pub struct Gates {
    /// Imports parsed at once.
    pub imports: tokio::sync::Semaphore,
    /// Logins checking credentials at once. Hashing runs on one thread anyway, so more in
    /// flight would only make a burst of logins take every database connection at once
    /// (measured: the PostgreSQL pool grew from 5 to 16 and stalled list requests).
    pub credential_checks: tokio::sync::Semaphore,
    pub logins: LoginThrottle,
    /// Requests to the public confirmation page (`/confirm/{token}`) per client IP.
    pub confirm_pages: LoginThrottle,
    /// Posts to the public backup report URLs (`/backup-runs/report/{token}`) per client IP.
    pub backup_reports: LoginThrottle,
    pub trusted_proxies: Vec<IpNet>,
}

impl Gates {
    pub fn new(c: &crate::Config) -> Gates {
        Gates {
            imports: tokio::sync::Semaphore::new(2),
            credential_checks: tokio::sync::Semaphore::new(4),
            logins: LoginThrottle::new(
                c.security.login_ip_max_failures,
                c.security.login_ip_window_minutes * 60_000,
            ),
            confirm_pages: LoginThrottle::new(CONFIRM_PAGE_LIMIT, 60_000),
            backup_reports: LoginThrottle::new(BACKUP_REPORT_LIMIT, 60_000),
            trusted_proxies: c
                .security
                .trusted_proxies
                .iter()
                .filter_map(|s| IpNet::parse(s).ok())
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_for_is_ignored_from_an_untrusted_peer() {
        let trusted = vec![IpNet::parse("10.0.0.0/8").unwrap()];
        assert_eq!(
            client_ip(ip("203.0.113.5"), Some("1.2.3.4"), &trusted),
            ip("203.0.113.5")
        );
    }

    #[test]
    fn forwarded_for_from_a_trusted_proxy_gives_the_rightmost_untrusted_hop() {
        let trusted = vec![IpNet::parse("10.0.0.0/8").unwrap()];
        assert_eq!(
            client_ip(ip("10.1.1.1"), Some("6.6.6.6, 1.2.3.4, 10.2.2.2"), &trusted),
            ip("1.2.3.4")
        );
        assert_eq!(
            client_ip(ip("10.1.1.1"), Some("garbage"), &trusted),
            ip("10.1.1.1")
        );
    }

    proptest::proptest! {
        /// X-Forwarded-For is outside bytes: any header gives the peer or one of its own
        /// addresses, never a panic.
        #[test]
        fn any_forwarded_for_header_yields_the_peer_or_one_of_its_hops(xff in "\\PC{0,300}") {
            let trusted = vec![IpNet::parse("127.0.0.0/8").unwrap()];
            let peer = ip("127.0.0.1");
            let got = client_ip(peer, Some(&xff), &trusted);
            proptest::prop_assert!(
                got == peer || xff.split(',').any(|h| h.trim().parse::<IpAddr>() == Ok(got))
            );
        }
    }

    #[test]
    fn cidr_matching_covers_v4_v6_and_mapped_addresses() {
        let n = IpNet::parse("192.168.0.0/16").unwrap();
        assert!(n.contains(ip("192.168.3.4")));
        assert!(!n.contains(ip("192.169.0.1")));
        assert!(n.contains(ip("::ffff:192.168.1.1")));
        assert!(IpNet::parse("::1").unwrap().contains(ip("::1")));
        assert!(IpNet::parse("0.0.0.0/0").unwrap().contains(ip("8.8.8.8")));
        assert!(IpNet::parse("10.0.0.0/33").is_err());
        assert!(IpNet::parse("nonsense").is_err());
    }

    #[test]
    fn throttle_opens_again_when_the_window_passes() {
        let t = LoginThrottle::new(3, 60_000);
        let a = ip("1.1.1.1");
        for i in 0..3 {
            t.begin(a, i * 1000).unwrap().failed(i * 1000);
        }
        let wait = t.begin(a, 3000).err().unwrap();
        assert!((57..=60).contains(&wait), "{wait}");
        assert!(t.begin(ip("2.2.2.2"), 3000).is_ok());
        assert!(t.begin(a, 60_001).is_ok());
    }

    #[test]
    fn attempts_in_flight_count_against_the_limit_until_they_end() {
        let t = LoginThrottle::new(3, 60_000);
        let a = ip("1.1.1.1");
        // Three concurrent attempts fill the window before any of them has failed.
        let held: Vec<_> = (0..3).map(|_| t.begin(a, 0).unwrap()).collect();
        assert!(t.begin(a, 0).is_err());
        let mut held = held.into_iter();
        // A success (or an abandoned request) gives its place back ...
        drop(held.next());
        let again = t.begin(a, 0).unwrap();
        // ... and failures keep theirs for the window.
        for h in held {
            h.failed(10);
        }
        again.failed(10);
        assert!(t.begin(a, 20).is_err());
        assert!(t.begin(a, 60_011).is_ok());
    }

    #[test]
    fn throttle_keeps_a_bounded_number_of_addresses() {
        let t = LoginThrottle::new(2, 60_000);
        for i in 0..(MAX_TRACKED_IPS as u32 + 50) {
            if let Ok(a) = t.begin(IpAddr::V4(i.into()), 1000) {
                a.failed(1000);
            }
        }
        assert!(t.lock().len() <= MAX_TRACKED_IPS);
        // Successful attempts leave nothing behind.
        drop(t.begin(ip("9.9.9.9"), 2000).unwrap());
        assert!(!t.lock().contains_key(&ip("9.9.9.9")));
    }

    #[test]
    fn hashes_verify_and_wrong_passwords_do_not() {
        let mut mem = Vec::new();
        let h = hash_with(&mut mem, "Correct#Horse9").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify_with(&mut mem, &h, "Correct#Horse9"));
        assert!(!verify_with(&mut mem, &h, "Correct#Horse8"));
        assert!(!verify_with(&mut mem, "not a hash", "x"));
        // Hashes made by the argon2 crate's own API still verify.
        use argon2::password_hash::PasswordHasher;
        let salt = SaltString::generate(&mut OsRng);
        let theirs = Argon2::default()
            .hash_password(b"Another#Pass1", &salt)
            .unwrap()
            .to_string();
        assert!(verify_with(&mut mem, &theirs, "Another#Pass1"));
        // A stored hash asking for absurd memory is refused, not allocated.
        assert!(!verify_with(
            &mut mem,
            "$argon2id$v=19$m=4000000,t=2,p=1$c2FsdHNhbHRzYWx0$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "x"
        ));
    }
}
