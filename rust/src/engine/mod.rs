//! The engine: for every resource of a batch, identify (rules), mark (id, type, name) and pool.

mod batch;
mod decide;
pub(crate) mod events;
mod work;

use crate::answers::cache::ResultCache;
use crate::answers::compact::OutputKeys;
use crate::answers::freshness::Counts;
use crate::clock::stamp;
use crate::config::{ConfigError, EngineConfig, Mode, parse_config};
use crate::engine::events::Reporter;
use crate::engine::work::{Spare, Work};
use crate::observe::Offer;
use crate::rules::RuleSet;
use crate::state::State;
use crate::state::fragmentation::{DECLARED, Kind, UNKNOWN};
use crate::state::partitions::Partitions;
use crate::state::snapshot::{self, SnapshotError};
pub use crate::stats::Stats;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::Relaxed};

pub struct Engine {
    config: EngineConfig,
    rules: RuleSet,
    state: State,
    cache: ResultCache,
    partitions: Partitions,
    /// Working memory of past batches, for the next (`work`).
    spare: Spare,
    /// The entity events reporter, made when entity events are first asked for.
    reporter: parking_lot::Mutex<Option<Reporter>>,
    processed: AtomicU64,
    defaulted: AtomicU64,
    cache_hits: AtomicU64,
    merges: AtomicU64,
    filled: AtomicU64,
    overflow: AtomicU64,
    oversized: AtomicU64,
    misrouted: AtomicU64,
    /// When the engine first processed data (`warmup`); 0 before.
    started: AtomicU32,
}

/// The engine's memory a processor reads (change-stamp cells, link epoch) and adds to (the
/// counters a hit adds to) when it applies a held answer on its own, under the answer's lease.
pub struct HeldView<'a> {
    pub cells: &'a [AtomicU64],
    pub link_epoch: &'a AtomicU64,
    pub resources_processed: &'a AtomicU64,
    pub cache_hits: &'a AtomicU64,
    pub attributes_filled: &'a AtomicU64,
    pub merges: &'a AtomicU64,
    pub default_partition_resources: &'a AtomicU64,
    pub routes_mismatched: &'a AtomicU64,
}

/// Counters of one batch, added to the engine's once per batch.
#[derive(Default)]
struct Tally {
    resources: u64,
    cache_hits: u64,
    filled: u64,
    merges: u64,
    defaulted: u64,
    overflow: u64,
    oversized: u64,
    misrouted: u64,
}

impl Tally {
    fn count(&mut self, c: &Counts) {
        self.filled += u64::from(c.filled);
        self.merges += u64::from(c.merged);
        self.defaulted += u64::from(c.defaulted);
        self.misrouted += u64::from(c.misrouted);
    }
}

impl Engine {
    pub fn new(config: EngineConfig) -> Result<Engine, ConfigError> {
        let rules = RuleSet::compile(&config)?;
        let state = match config.partition.source() {
            crate::config::PartitionSource::None => State::new(config.max_entities, config.ttl_seconds),
            _ => State::fair(config.max_entities, config.ttl_seconds),
        };
        let cache = ResultCache::new(config.max_entities, config.ttl_seconds, OutputKeys::of(&config));
        let partitions = Partitions::new(&config.partition, config.ttl_seconds, config.mode != Mode::Route);
        Ok(Engine {
            config,
            rules,
            state,
            cache,
            partitions,
            spare: Spare::default(),
            reporter: parking_lot::Mutex::new(None),
            processed: AtomicU64::new(0),
            defaulted: AtomicU64::new(0),
            cache_hits: AtomicU64::new(0),
            merges: AtomicU64::new(0),
            filled: AtomicU64::new(0),
            overflow: AtomicU64::new(0),
            oversized: AtomicU64::new(0),
            misrouted: AtomicU64::new(0),
            started: AtomicU32::new(0),
        })
    }

    pub fn from_json(json: &[u8]) -> Result<Engine, ConfigError> {
        Engine::new(parse_config(json)?)
    }

    /// Checks a JSON configuration exactly as `from_json` would (schema, ranges, every rule)
    /// without allocating an engine's state, and returns it with every default filled in.
    pub fn check_config(json: &[u8]) -> Result<EngineConfig, ConfigError> {
        let config = parse_config(json)?;
        RuleSet::compile(&config)?;
        Ok(config)
    }

    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }

    pub(crate) fn config(&self) -> &EngineConfig {
        &self.config
    }

    pub fn stats(&self) -> Stats {
        let c = &self.state.counters();
        Stats {
            resources_processed: self.processed.load(Relaxed),
            entities: self.state.entity_count(),
            links: self.state.link_count(),
            evictions: c.evictions.load(Relaxed),
            merges: self.merges.load(Relaxed),
            attributes_filled: self.filled.load(Relaxed),
            cache_hits: self.cache_hits.load(Relaxed),
            cache_misses: self.processed.load(Relaxed).saturating_sub(self.cache_hits.load(Relaxed)),
            ambiguous_links: c.ambiguous_links.load(Relaxed),
            ambiguous_attributes: c.ambiguous_attributes.load(Relaxed),
            containers_full: c.containers_full.load(Relaxed),
            attributes_not_pooled: c.attributes_not_pooled.load(Relaxed),
            identity_values_too_large: self.oversized.load(Relaxed),
            partitions: self.partitions.live(),
            resource_variants: {
                let mut variants = 0;
                self.state.for_each_entity_kind(|_, v| variants += v);
                variants
            },
            default_partition_resources: self.defaulted.load(Relaxed),
            partition_overflow_resources: self.overflow.load(Relaxed),
            entity_changes_dropped: self.state.changes().dropped.load(Relaxed),
            routes_mismatched: self.misrouted.load(Relaxed),
            fills_refused_ambiguous: c.fills_refused(Offer::Ambiguous),
            fills_refused_container_scoped: c.fills_refused(Offer::ContainerScoped),
            fills_refused_out_of_scope: c.fills_refused(Offer::OutOfScope),
        }
    }

    /// The entity events due at `now` (Unix seconds), as OTLP `LogsData` bytes (empty: none),
    /// with every entity reported again each `report_interval` seconds (`events`). The first
    /// call starts tracking what entity events need; entities learnt before it are reported
    /// once a resource describes them again.
    pub fn entity_events(&self, now: u64, report_interval: u64) -> Vec<u8> {
        let mut reporter = self.reporter.lock();
        let reporter = reporter.get_or_insert_with(|| {
            self.state.changes().enable();
            Reporter::default()
        });
        reporter.events(&self.state, &self.rules, &self.config, stamp(now), report_interval)
    }

    /// Entities held, by type (`declared` for entity references the rules do not decide);
    /// entities restored from a snapshot and not seen since are not counted.
    pub fn entities_by_type(&self) -> std::collections::BTreeMap<String, u64> {
        let mut by_kind: std::collections::HashMap<Kind, u64> = std::collections::HashMap::new();
        self.state.for_each_entity_kind(|kind, _| *by_kind.entry(kind).or_default() += 1);
        let mut by_type = std::collections::BTreeMap::new();
        for (kind, n) in by_kind {
            let name = match kind {
                UNKNOWN => continue,
                DECLARED => "declared",
                k => &self.rules.rules[k as usize].entity_type,
            };
            *by_type.entry(name.to_owned()).or_default() += n;
        }
        by_type
    }

    /// Heap bytes of pooled values (for measuring memory per entity).
    pub fn pooled_bytes(&self) -> u64 {
        self.state.pooled_bytes()
    }

    /// What a processor reads to apply held answers on its own, and the counters it adds its
    /// hits to (`answers::lease`).
    pub fn held_view(&self) -> HeldView<'_> {
        let (cells, link_epoch) = self.state.freshness().cells_and_epoch();
        HeldView {
            cells,
            link_epoch,
            resources_processed: &self.processed,
            cache_hits: &self.cache_hits,
            attributes_filled: &self.filled,
            merges: &self.merges,
            default_partition_resources: &self.defaulted,
            routes_mismatched: &self.misrouted,
        }
    }

    /// The state as snapshot bytes, at `now` (Unix seconds).
    pub fn snapshot(&self, now: u64) -> Vec<u8> {
        snapshot::save(&self.state, &self.rules, stamp(now))
    }

    /// Replaces the state with a snapshot's. On error the state is left as it was. Links to
    /// rules no longer in use are dropped. Returns the number of entities restored.
    pub fn restore(&self, bytes: &[u8], now: u64) -> Result<u64, SnapshotError> {
        let restored = snapshot::load(&self.state, &self.rules, bytes, stamp(now))?;
        self.cache.clear();
        // The answers a processor holds under a lease read the state replaced.
        self.state.freshness().all_changed();
        self.state.freshness().links_changed();
        Ok(restored)
    }
}
