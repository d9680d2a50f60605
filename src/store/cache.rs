//! Caches of the store's read paths, bounded in bytes and expiring by age.
//!
//! Each entry carries an estimate of the memory it holds (key, value, bookkeeping).
//! Inserting past the budget drops the oldest entries first; an entry older than its time
//! to live is never served, and goes at the next insertion or sweep. Time comes in as
//! milliseconds from the caller, so the injected clock (credentials) or the store's
//! monotonic clock (everything else) drives expiry, and tests can step it.

use std::borrow::Borrow;
use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::Store;
use super::desk::{CALENDAR_TTL, TicketRow};
use super::notify::{ChannelRow, RuleRow};
use super::users::Credential;
use crate::domain::calendar::{Calendar, DayOverride};

/// Heap memory owned by a value, beyond `size_of::<Self>()`; an estimate, erring high.
pub trait Weigh {
    fn heap_bytes(&self) -> usize;
}

impl Weigh for String {
    fn heap_bytes(&self) -> usize {
        self.capacity()
    }
}

impl Weigh for i64 {
    fn heap_bytes(&self) -> usize {
        0
    }
}

impl<T: Weigh> Weigh for Option<T> {
    fn heap_bytes(&self) -> usize {
        self.as_ref().map_or(0, Weigh::heap_bytes)
    }
}

impl<T: Weigh> Weigh for Vec<T> {
    fn heap_bytes(&self) -> usize {
        self.capacity() * std::mem::size_of::<T>()
            + self.iter().map(Weigh::heap_bytes).sum::<usize>()
    }
}

impl<T: Weigh> Weigh for Arc<T> {
    fn heap_bytes(&self) -> usize {
        // The reference counts and the value itself live behind the pointer.
        16 + std::mem::size_of::<T>() + self.as_ref().heap_bytes()
    }
}

impl<A: Weigh, B: Weigh> Weigh for (A, B) {
    fn heap_bytes(&self) -> usize {
        self.0.heap_bytes() + self.1.heap_bytes()
    }
}

/// Bookkeeping per entry beyond the key and value: the hash table's control bytes and
/// spare capacity, and a B-tree node's share for the age order.
const ENTRY_OVERHEAD: usize = 64;

/// A map whose entries together stay within `max_bytes` and are served for at most `ttl_ms`
/// after they were stored.
pub struct BoundedCache<K, V> {
    max_bytes: usize,
    ttl_ms: i64,
    inner: Mutex<Inner<K, V>>,
}

struct Inner<K, V> {
    map: HashMap<K, Slot<V>>,
    /// Insertion sequence number → key: the oldest entry first.
    order: BTreeMap<u64, K>,
    next_seq: u64,
    bytes: usize,
}

struct Slot<V> {
    value: V,
    at_ms: i64,
    seq: u64,
    bytes: usize,
}

impl<K: Hash + Eq + Clone + Weigh, V: Clone + Weigh> BoundedCache<K, V> {
    pub fn new(max_bytes: usize, ttl: Duration) -> Self {
        BoundedCache {
            max_bytes,
            ttl_ms: i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX),
            inner: Mutex::new(Inner {
                map: HashMap::new(),
                order: BTreeMap::new(),
                next_seq: 0,
                bytes: 0,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner<K, V>> {
        // A panic while holding the lock cannot leave a half-made entry (every change is
        // a few map operations), so a poisoned cache is still consistent.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn fresh(&self, at_ms: i64, now_ms: i64) -> bool {
        now_ms >= at_ms && now_ms - at_ms < self.ttl_ms
    }

    /// The value stored for `key`, unless it has expired (then it is dropped).
    pub fn get<Q>(&self, key: &Q, now_ms: i64) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let mut g = self.lock();
        let at_ms = g.map.get(key)?.at_ms;
        if self.fresh(at_ms, now_ms) {
            return g.map.get(key).map(|s| s.value.clone());
        }
        g.remove(key);
        None
    }

    /// Stores `value` under `key` at `now_ms`, dropping expired entries and then the
    /// oldest ones until it fits. A value larger than the whole budget is not stored.
    pub fn insert(&self, key: K, value: V, now_ms: i64) {
        let bytes = Self::weight(&key, &value);
        let mut g = self.lock();
        g.remove(&key);
        if bytes > self.max_bytes {
            return;
        }
        while let Some((_, k)) = g.order.first_key_value() {
            let expired = g.map.get(k).is_none_or(|s| !self.fresh(s.at_ms, now_ms));
            if !expired && g.bytes + bytes <= self.max_bytes {
                break;
            }
            let k = k.clone();
            g.remove(&k);
        }
        let seq = g.next_seq;
        g.next_seq += 1;
        g.order.insert(seq, key.clone());
        g.bytes += bytes;
        g.map.insert(
            key,
            Slot {
                value,
                at_ms: now_ms,
                seq,
                bytes,
            },
        );
    }

    pub fn remove<Q>(&self, key: &Q)
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.lock().remove(key);
    }

    pub fn clear(&self) {
        let mut g = self.lock();
        g.map = HashMap::new();
        g.order.clear();
        g.bytes = 0;
    }

    /// Changes stored values in place (their weight must not change).
    pub fn update_all(&self, mut f: impl FnMut(&mut V)) {
        for s in self.lock().map.values_mut() {
            f(&mut s.value);
        }
    }

    /// Drops every expired entry, and gives spare table capacity back.
    pub fn sweep(&self, now_ms: i64) {
        let mut g = self.lock();
        let expired: Vec<K> = g
            .map
            .iter()
            .filter(|(_, s)| !self.fresh(s.at_ms, now_ms))
            .map(|(k, _)| k.clone())
            .collect();
        for k in &expired {
            g.remove(k);
        }
        if g.map.capacity() > 4 * g.map.len().max(16) {
            g.map.shrink_to_fit();
        }
    }

    /// (entries, estimated bytes) held now.
    pub fn usage(&self) -> (usize, usize) {
        let g = self.lock();
        (g.map.len(), g.bytes)
    }

    pub fn max_bytes(&self) -> usize {
        self.max_bytes
    }

    fn weight(key: &K, value: &V) -> usize {
        // The key is held twice: in the map and in the age order.
        2 * (std::mem::size_of::<K>() + key.heap_bytes())
            + std::mem::size_of::<Slot<V>>()
            + value.heap_bytes()
            + ENTRY_OVERHEAD
    }
}

impl<K: Hash + Eq, V> Inner<K, V> {
    fn remove<Q>(&mut self, key: &Q)
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        if let Some(s) = self.map.remove(key) {
            self.order.remove(&s.seq);
            self.bytes -= s.bytes;
        }
    }
}

/// How long a ticket list page is served while the table is unchanged: names of systems
/// and users shown in it come from other tables, so this bounds how stale they can look.
pub const PAGE_TTL: Duration = Duration::from_secs(5);
/// How long a list total is kept (it is only served while its table is unchanged).
pub const COUNT_TTL: Duration = Duration::from_secs(60);

/// How long a computed summary (e.g. the month's quality targets on the manager's home)
/// is served before it is computed again.
pub const SUMMARY_TTL: Duration = Duration::from_secs(300);

/// One value read from a small table as a whole, served until its time to live runs out
/// or an edit forgets it. A read that began before a [`Snapshot::forget`] does not keep
/// what it read, so a value read before an edit committed is never served after it.
pub struct Snapshot<T> {
    inner: Mutex<SnapshotState<T>>,
    ttl: Duration,
}

struct SnapshotState<T> {
    generation: u64,
    value: Option<(Instant, Arc<T>)>,
}

impl<T> Snapshot<T> {
    pub fn new(ttl: Duration) -> Self {
        Snapshot {
            inner: Mutex::new(SnapshotState {
                generation: 0,
                value: None,
            }),
            ttl,
        }
    }

    fn state(&self) -> MutexGuard<'_, SnapshotState<T>> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The value if it is fresh, else the generation to hand to [`Snapshot::put`] with
    /// the value read now.
    pub fn get(&self) -> Result<Arc<T>, u64> {
        let g = self.state();
        match &g.value {
            Some((at, v)) if at.elapsed() < self.ttl => Ok(v.clone()),
            _ => Err(g.generation),
        }
    }

    /// Keeps `v`, read after [`Snapshot::get`] answered `generation`, unless an edit has
    /// forgotten the value since.
    pub fn put(&self, generation: u64, v: Arc<T>) {
        let mut g = self.state();
        if g.generation == generation {
            g.value = Some((Instant::now(), v));
        }
    }

    /// Drops the value; call after the edit that changes it has committed.
    pub fn forget(&self) {
        let mut g = self.state();
        g.generation += 1;
        g.value = None;
    }
}

/// The store's caches. They share `cache_max_bytes`: seven sixteenths for ticket list
/// pages, a quarter for credentials, an eighth each for list totals and calendars, a
/// sixteenth for computed summaries.
pub struct Caches {
    /// Ticket list pages by query: (tickets row version, rows).
    pub pages: BoundedCache<String, (i64, Arc<Vec<TicketRow>>)>,
    /// List totals by query: (row version, total).
    pub counts: BoundedCache<String, (i64, i64)>,
    /// Credentials by token hash, timed by the application clock (`Store::AUTH_CACHE_MS`).
    /// Every credential change in this process clears it, so another replica's logout or
    /// revocation takes effect here within that time.
    pub credentials: BoundedCache<String, Credential>,
    /// Calendars as the SLA engine uses them. Edits through this process clear them;
    /// other replicas' edits show within `CALENDAR_TTL`.
    pub calendars: BoundedCache<i64, Calendar>,
    /// Figures computed from many records for a page (JSON text by name), served for
    /// [`SUMMARY_TTL`]: they may be that old.
    pub summaries: BoundedCache<String, String>,
    /// The enabled notification rules with their (enabled) channels, read by every write
    /// that notifies. Edits through this process forget them once committed; other
    /// replicas' edits show within `CALENDAR_TTL`.
    pub rules: Snapshot<Vec<(RuleRow, ChannelRow)>>,
    /// One rebuild of a page at a time (see `Store::list_tickets`).
    page_gates: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    epoch: Instant,
}

/// Most page gates kept; past it, gates nobody holds are dropped.
const MAX_PAGE_GATES: usize = 1024;

impl Caches {
    pub fn new(max_bytes: usize) -> Self {
        Caches {
            pages: BoundedCache::new(max_bytes / 16 * 7, PAGE_TTL),
            credentials: BoundedCache::new(
                max_bytes / 4,
                Duration::from_millis(Store::AUTH_CACHE_MS.unsigned_abs()),
            ),
            counts: BoundedCache::new(max_bytes / 8, COUNT_TTL),
            calendars: BoundedCache::new(max_bytes / 8, CALENDAR_TTL),
            summaries: BoundedCache::new(max_bytes / 16, SUMMARY_TTL),
            rules: Snapshot::new(CALENDAR_TTL),
            page_gates: Mutex::new(HashMap::new()),
            epoch: Instant::now(),
        }
    }

    /// Milliseconds on the store's monotonic clock, for every cache but credentials.
    pub fn now_ms(&self) -> i64 {
        i64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(i64::MAX)
    }

    /// The lock that lets one request at a time rebuild the page `key`.
    pub fn page_gate(&self, key: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut g = self.page_gates.lock().unwrap_or_else(|p| p.into_inner());
        if g.len() >= MAX_PAGE_GATES {
            // Gates nobody holds can go; a held one stays with its holders.
            g.retain(|_, m| Arc::strong_count(m) > 1);
        }
        g.entry(key.to_string()).or_default().clone()
    }

    /// Drops expired entries everywhere (run periodically, so an idle server lets go of
    /// what it cached under load). `clock_now_ms` is the application clock's time.
    pub fn sweep(&self, clock_now_ms: i64) {
        let now = self.now_ms();
        self.pages.sweep(now);
        self.counts.sweep(now);
        self.calendars.sweep(now);
        self.summaries.sweep(now);
        self.credentials.sweep(clock_now_ms);
        let mut g = self.page_gates.lock().unwrap_or_else(|p| p.into_inner());
        g.retain(|_, m| Arc::strong_count(m) > 1);
        g.shrink_to_fit();
    }

    /// (entries, estimated bytes) of every cache together.
    pub fn usage(&self) -> (usize, usize) {
        [
            self.pages.usage(),
            self.counts.usage(),
            self.credentials.usage(),
            self.calendars.usage(),
            self.summaries.usage(),
        ]
        .into_iter()
        .fold((0, 0), |(n, b), (n2, b2)| (n + n2, b + b2))
    }
}

impl Weigh for TicketRow {
    fn heap_bytes(&self) -> usize {
        [
            &self.change_type,
            &self.description,
            &self.category,
            &self.requester_name,
            &self.requester_contact,
            &self.pending_reason,
            &self.cancel_reason,
            &self.fault_report,
            &self.resolution,
            &self.satisfaction_comment,
            &self.system_name,
            &self.asset_name,
            &self.assignee_name,
            &self.requester_username,
        ]
        .into_iter()
        .map(Weigh::heap_bytes)
        .sum::<usize>()
            + [
                &self.number,
                &self.kind,
                &self.title,
                &self.source,
                &self.impact,
                &self.urgency,
                &self.priority,
                &self.status,
            ]
            .into_iter()
            .map(Weigh::heap_bytes)
            .sum::<usize>()
    }
}

impl Weigh for Credential {
    fn heap_bytes(&self) -> usize {
        let u = match self {
            Credential::Session { user, .. } | Credential::ApiToken { user, .. } => user,
        };
        u.username.heap_bytes() + u.display_name.heap_bytes() + u.role.heap_bytes()
    }
}

impl Weigh for Calendar {
    fn heap_bytes(&self) -> usize {
        // A B-tree holds its entries in nodes of up to 11, a little over one entry's size
        // each on average.
        self.periods.capacity() * std::mem::size_of::<(chrono::NaiveTime, chrono::NaiveTime)>()
            + self
                .overrides
                .values()
                .map(|o| {
                    2 * std::mem::size_of::<(chrono::NaiveDate, DayOverride)>()
                        + o.reason.capacity()
                })
                .sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_snapshot_read_before_an_edit_is_not_kept_after_it() {
        let s: Snapshot<u32> = Snapshot::new(Duration::from_secs(60));
        let g = s.get().expect_err("empty at first");
        s.put(g, Arc::new(1));
        assert_eq!(*s.get().unwrap(), 1);
        // A read begins, an edit commits and forgets, then the read tries to keep its value.
        s.forget();
        let stale = s.get().expect_err("forgotten");
        s.forget();
        s.put(stale, Arc::new(2));
        let fresh = s.get().expect_err("the stale read was not kept");
        s.put(fresh, Arc::new(3));
        assert_eq!(*s.get().unwrap(), 3);
        // And a value past its time to live is read anew.
        let short: Snapshot<u32> = Snapshot::new(Duration::from_millis(0));
        let g = short.get().unwrap_err();
        short.put(g, Arc::new(1));
        assert!(short.get().is_err());
    }

    fn cache(max_bytes: usize, ttl_ms: u64) -> BoundedCache<String, String> {
        BoundedCache::new(max_bytes, Duration::from_millis(ttl_ms))
    }

    fn weight(k: &String, v: &String) -> usize {
        BoundedCache::<String, String>::weight(k, v)
    }

    #[test]
    fn inserting_past_the_byte_budget_evicts_the_oldest_entries() {
        // Built as the entries below are, so the strings' capacities match.
        let one = weight(&format!("k{:02}", 0), &"x".repeat(1000));
        // Room for exactly three entries of this size.
        let c = cache(3 * one + one / 2, 60_000);
        for i in 0..10 {
            c.insert(format!("k{i:02}"), "x".repeat(1000), i);
            let (n, bytes) = c.usage();
            assert!(bytes <= c.max_bytes(), "{bytes} > {}", c.max_bytes());
            assert!(n <= 3);
        }
        assert_eq!(c.usage(), (3, 3 * one));
        for i in 0..7 {
            assert_eq!(c.get(format!("k{i:02}").as_str(), 10), None, "k{i:02}");
        }
        for i in 7..10 {
            assert!(c.get(format!("k{i:02}").as_str(), 10).is_some(), "k{i:02}");
        }
    }

    #[test]
    fn a_value_larger_than_the_budget_is_not_stored_and_replaces_nothing_else() {
        let c = cache(4096, 60_000);
        c.insert("small".into(), "v".into(), 0);
        c.insert("huge".into(), "x".repeat(10_000), 0);
        assert_eq!(c.get("huge", 1), None);
        assert_eq!(c.get("small", 1).as_deref(), Some("v"));
        // Replacing a key with a value too large drops the old value too.
        c.insert("small".into(), "x".repeat(10_000), 2);
        assert_eq!(c.get("small", 3), None);
        assert_eq!(c.usage(), (0, 0));
    }

    #[test]
    fn an_expired_entry_is_not_served() {
        let c = cache(1 << 20, 1_000);
        c.insert("a".into(), "1".into(), 5_000);
        assert_eq!(c.get("a", 5_000).as_deref(), Some("1"));
        assert_eq!(c.get("a", 5_999).as_deref(), Some("1"));
        assert_eq!(c.get("a", 6_000), None);
        // Gone, not just hidden.
        assert_eq!(c.usage(), (0, 0));
        // A clock that went back does not make an entry from the future fresh.
        c.insert("b".into(), "2".into(), 9_000);
        assert_eq!(c.get("b", 8_000), None);
    }

    #[test]
    fn sweeping_and_inserting_drop_expired_entries_and_their_bytes() {
        let c = cache(1 << 20, 1_000);
        for i in 0..100 {
            c.insert(format!("old{i}"), "v".repeat(100), 0);
        }
        c.insert("new".into(), "v".into(), 900);
        // The next insertion after they expired drops them all.
        c.insert("newer".into(), "v".into(), 1_000);
        assert_eq!(c.usage().0, 2);
        c.sweep(1_950);
        assert_eq!(c.usage().0, 1);
        c.sweep(2_000);
        assert_eq!(c.usage(), (0, 0));
    }

    #[test]
    fn replacing_a_key_keeps_one_entry_and_its_new_weight() {
        let c = cache(1 << 20, 60_000);
        c.insert("k".into(), "short".into(), 0);
        c.insert("k".into(), "a longer value".into(), 1);
        assert_eq!(
            c.usage(),
            (1, weight(&"k".into(), &"a longer value".into()))
        );
        assert_eq!(c.get("k", 2).as_deref(), Some("a longer value"));
        c.remove("k");
        assert_eq!(c.usage(), (0, 0));
    }
}
