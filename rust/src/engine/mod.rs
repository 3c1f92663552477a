//! The engine: for every resource of a batch, identify (rules), mark (id, type, name) and pool.

pub(crate) mod events;

use crate::answers::cache::{CompactScratch, ResultCache};
use crate::answers::compact::OutputKeys;
use crate::answers::freshness::Provenance;
use crate::clock::{Stamp, stamp};
use crate::config::{ConfigError, EngineConfig, Mode, parse_config};
use crate::engine::events::Reporter;
use crate::id::{EntityId, container_tag, to_hex};
use crate::observe::{LinkKind, Matched, Observer, Quiet};
use crate::rules::matcher::{
    MatchScratch, Outcome, blank, id_value, identifies, identity_parts, match_resource, route_id, standalone_id,
};
use crate::rules::{CompiledRule, ContainerScope, RuleSet, Scope};
use crate::state::fragmentation::{DECLARED, Kind, UNKNOWN};
use crate::state::partitions::{Partition, Partitions};
use crate::state::snapshot::{self, SnapshotError};
use crate::state::{ContainerRequest, Link, PoolRequest, State};
pub use crate::stats::Stats;
use crate::wire::{
    Attr, ResourceView, ResultWriter, Value, WireError, for_each_resource, read_any_value, read_resource,
};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::Relaxed};
use xxhash_rust::xxh3::xxh3_128;

/// How many resources of a batch are hashed, and their cache sets asked for, before they are
/// answered (`process_batch`).
const AHEAD: usize = 8;

pub struct Engine {
    config: EngineConfig,
    rules: RuleSet,
    state: State,
    cache: ResultCache,
    partitions: Partitions,
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

/// Which links a resource may follow (`Engine::follow`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Follow {
    /// Every link: the engine sees all the data (no router in front).
    All,
    /// Alias links within its type: a router sent it here by its rule's route keys.
    Aliases,
    /// None: a router sent it by its own identity (`misrouted: false`), or by a key this engine
    /// would not compute (`misrouted: true`: the tiers are configured differently).
    Nothing { misrouted: bool },
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
    fn count(&mut self, p: &Provenance) {
        self.filled += u64::from(p.filled);
        self.merges += u64::from(p.merged);
        self.defaulted += u64::from(p.defaulted);
        self.misrouted += u64::from(p.misrouted);
    }
}

/// What `identify` decided: the entity's id and type, and the rule (or, for a declared entity,
/// the declared keys as scope) that decides what is pooled and how it is named.
struct Identity<'a> {
    id: EntityId,
    /// The partition's fairness group (`Partition::group`).
    group: u32,
    rule: Option<usize>,
    entity_type: &'a str,
    ref_scope: Option<Scope>,
}

/// Per-batch working memory.
struct Work<'a> {
    view: ResourceView<'a>,
    scratch: MatchScratch<'a>,
    derived_values: Vec<u8>,
    fills: Vec<u8>,
    fill_spans: Vec<(usize, usize, usize)>,
    container_tags: Vec<u64>,
    /// Which variant of its entity the resource is: the low bits of its bytes' hash.
    variant: u32,
    /// The entity's identifying keys and values as this resource shows them, while entity
    /// events are published (empty otherwise, or when the id came through a link).
    identity_parts: Vec<(String, String)>,
    /// For storing answers compact in the cache.
    compact: CompactScratch,
}

impl<'a> Work<'a> {
    fn new(rules: &'a RuleSet) -> Work<'a> {
        Work {
            view: ResourceView::default(),
            scratch: MatchScratch::new(rules),
            derived_values: Vec::new(),
            fills: Vec::new(),
            fill_spans: Vec::new(),
            container_tags: Vec::new(),
            variant: 0,
            identity_parts: Vec::new(),
            compact: CompactScratch::default(),
        }
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

    /// Processes one batch (`LogsData`/`TracesData`/`MetricsData` bytes whose entries carry
    /// resources) at `now` (Unix seconds) and returns, as `LogsData` bytes, one entry per input
    /// resource whose resource carries the attributes to upsert.
    pub fn process(&self, batch: &[u8], now: u64) -> Result<Vec<u8>, WireError> {
        // Answers are usually a fraction of the resources they answer.
        let mut out = Vec::with_capacity(batch.len() / 2);
        self.process_into(batch, now, &mut out)?;
        Ok(out)
    }

    /// `process`, writing the answer into `out` (cleared first), so that a caller can reuse one
    /// buffer across batches and a warm call allocates nothing.
    pub fn process_into(&self, batch: &[u8], now: u64, out: &mut Vec<u8>) -> Result<(), WireError> {
        self.process_partition_into(b"", batch, now, out)
    }

    /// `process` for a batch of partition `partition` (a tenant, when the engine takes the
    /// partition from its caller: `partition.metadata` or `partition.auth`; empty when the
    /// caller could not tell, and ignored otherwise).
    pub fn process_partition(&self, partition: &[u8], batch: &[u8], now: u64) -> Result<Vec<u8>, WireError> {
        let mut out = Vec::with_capacity(batch.len() / 2);
        self.process_partition_into(partition, batch, now, &mut out)?;
        Ok(out)
    }

    /// `process_partition`, writing the answer into `out` as `process_into` does.
    pub fn process_partition_into(
        &self,
        partition: &[u8],
        batch: &[u8],
        now: u64,
        out: &mut Vec<u8>,
    ) -> Result<(), WireError> {
        out.clear();
        let mut writer = ResultWriter::over(std::mem::take(out));
        // Counted per batch and added once: shared counters bumped per resource would bounce
        // their cache line between the cores of concurrent callers.
        let mut tally = Tally::default();
        let now = stamp(now);
        let _ = self.started.compare_exchange(0, now, Relaxed, Relaxed);
        let partition = self.partitions.of_batch(partition, now);
        let result = self.process_batch(batch, partition, now, &mut writer, &mut tally);
        *out = writer.finish();
        self.processed.fetch_add(tally.resources, Relaxed);
        if tally.defaulted > 0 {
            self.defaulted.fetch_add(tally.defaulted, Relaxed);
        }
        self.cache_hits.fetch_add(tally.cache_hits, Relaxed);
        if tally.filled > 0 {
            self.filled.fetch_add(tally.filled, Relaxed);
        }
        if tally.merges > 0 {
            self.merges.fetch_add(tally.merges, Relaxed);
        }
        if tally.overflow > 0 {
            self.overflow.fetch_add(tally.overflow, Relaxed);
        }
        if tally.oversized > 0 {
            self.oversized.fetch_add(tally.oversized, Relaxed);
        }
        if tally.misrouted > 0 {
            self.misrouted.fetch_add(tally.misrouted, Relaxed);
        }
        result
    }

    /// `partition` is the batch's, or `None` when each resource names its own.
    fn process_batch<'a>(
        &'a self,
        batch: &'a [u8],
        partition: Option<Partition>,
        now: Stamp,
        out: &mut ResultWriter,
        tally: &mut Tally,
    ) -> Result<(), WireError> {
        // Working memory for resources not answered from the cache, made at the first of them.
        let mut work: Option<Work> = None;
        // A hit reads three places that are rarely in the CPU's caches, each found from the
        // one before: the cache set, the slot, the entity's change stamp. Waiting for each in
        // turn was most of a hit's time, so resources are queued `AHEAD` deep and each is
        // prepared in stages as it moves up the queue: hashed and its set asked for on entry,
        // its slot asked for half-way, its entity's stamp three quarters of the way, and
        // answered when it leaves, by which time all three have arrived.
        let mut ahead = [(&[][..], 0u128, 0u128); AHEAD];
        let mut queued = 0usize;
        for_each_resource(batch, |resource| {
            let hash = xxh3_128(resource);
            // A resource's own partition attribute is in its bytes; a batch's partition is not,
            // so it is mixed into the key: an answer is only ever reused within its partition.
            let key = match partition {
                Some(p) => p.id(hash),
                None => hash,
            };
            self.cache.prefetch(key);
            let due = std::mem::replace(&mut ahead[queued % AHEAD], (resource, hash, key));
            queued += 1;
            self.prepare(&ahead, queued, queued);
            if queued > AHEAD {
                self.answer(due, partition, now, out, tally, &mut work)?;
            }
            Ok(())
        })?;
        for i in queued.saturating_sub(AHEAD)..queued {
            self.prepare(&ahead, i + 1 + AHEAD, queued);
            self.answer(ahead[i % AHEAD], partition, now, out, tally, &mut work)?;
        }
        Ok(())
    }

    /// The middle stages of `process_batch`'s queue, when `entered` resources would have
    /// entered it (past the batch's end while the queue drains) of the `total` that did.
    fn prepare(&self, ahead: &[(&[u8], u128, u128); AHEAD], entered: usize, total: usize) {
        let stage = |behind: usize| entered.checked_sub(1 + behind).filter(|i| *i < total).map(|i| ahead[i % AHEAD].2);
        if let Some(key) = stage(AHEAD / 2) {
            self.cache.prefetch_slot(key);
        }
        if let Some(entity) = stage(AHEAD * 3 / 4).and_then(|key| self.cache.entity_of(key)) {
            self.state.freshness.prefetch(entity);
        }
    }

    /// Answers one resource of a batch (its bytes, their hash and its cache key): from the
    /// cache when the cached answer still holds, else afresh.
    fn answer<'a>(
        &'a self,
        (resource, hash, key): (&'a [u8], u128, u128),
        partition: Option<Partition>,
        now: Stamp,
        out: &mut ResultWriter,
        tally: &mut Tally,
        work: &mut Option<Work<'a>>,
    ) -> Result<(), WireError> {
        tally.resources += 1;
        let mark = out.mark();
        if let Some(hit) = self.cache.get(key, now, out, |id| self.state.freshness.prefetch(id)) {
            if self.state.freshness.still_valid(&hit, |id| self.state.touch_entity(id, now)) {
                tally.cache_hits += 1;
                tally.count(&hit.provenance);
                return Ok(());
            }
            out.rollback(mark);
        }
        let work = work.get_or_insert_with(|| Work::new(&self.rules));
        read_resource(resource, &mut work.view)?;
        work.variant = hash as u32;
        let partition = partition.unwrap_or_else(|| self.partitions.of_resource(&work.view.attrs, now));
        let provenance = if self.config.mode == Mode::Route {
            self.route_resource(work, partition, now, out)
        } else {
            self.process_resource(work, partition, now, out, &mut Quiet)
        };
        tally.count(&provenance);
        tally.oversized += u64::from(work.scratch.oversized);
        if partition.overflow {
            // Answered from nothing stored: a cached copy would outlive the partition's wait.
            tally.overflow += 1;
        } else if self.warming_up(now) {
            // Answered without links: a cached copy would outlive the warm-up.
        } else {
            self.cache.put(key, out.answer(), provenance, now, &mut work.compact);
        }
        out.end_resource();
        Ok(())
    }

    /// Processes a batch as `process_partition` does, but computes every resource afresh (an
    /// explanation is of a decision, not of a cached answer), telling `obs` each decision, and
    /// calls `each` after each resource with its attributes and its answer (`Resource` bytes).
    pub(crate) fn process_observed<O: Observer>(
        &self,
        partition: &[u8],
        batch: &[u8],
        now: u64,
        obs: &mut O,
        mut each: impl FnMut(&mut O, &[Attr<'_>], &[u8]),
    ) -> Result<(), WireError> {
        let now = stamp(now);
        let partition = self.partitions.of_batch(partition, now);
        let mut out = ResultWriter::new();
        let mut work = Work::new(&self.rules);
        for_each_resource(batch, |resource| {
            read_resource(resource, &mut work.view)?;
            work.variant = xxh3_128(resource) as u32;
            let partition = partition.unwrap_or_else(|| self.partitions.of_resource(&work.view.attrs, now));
            self.process_resource(&mut work, partition, now, &mut out, obs);
            each(obs, &work.view.attrs, out.answer());
            out.end_resource();
            Ok(())
        })
    }

    pub(crate) fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// The attributes the engine writes: id, type, name, rule and route. A resource's own values of
    /// them are ignored for identity and pooling, so that a resource seen again after a
    /// processor marked it is recognised the same.
    fn output_keys(&self) -> [&[u8]; 5] {
        [
            self.config.id_attribute.as_bytes(),
            self.config.type_attribute.as_bytes(),
            self.config.name_attribute.as_bytes(),
            self.config.rule_attribute.as_bytes(),
            self.config.route_attribute.as_bytes(),
        ]
    }

    /// Writes the resource's route key (`Mode::Route`): a pure function of the resource and its
    /// partition, so that a fleet's routers need no state and agree with each other.
    fn route_resource<'a>(
        &'a self,
        w: &mut Work<'a>,
        partition: Partition,
        now: Stamp,
        out: &mut ResultWriter,
    ) -> Provenance {
        let attrs = std::mem::take(&mut w.view.attrs);
        let (route, _) = self.route(&attrs, w);
        let key = self.config.route_attribute.as_bytes();
        let hex = to_hex(partition.id(route));
        if !attrs.iter().any(|a| a.key == key && a.value == Value::Str(&hex)) {
            out.attr_str(key, &hex);
        }
        w.view.attrs = attrs;
        let mut provenance = Provenance::at(now);
        provenance.defaulted = partition.defaulted;
        provenance
    }

    /// The key a fleet routes a resource by, before its partition is mixed in, and whether it is
    /// its rule's route keys (`CompiledRule::route`); otherwise it is the resource's own first
    /// identity (or its declared entity's), so that it meets at least every resource of that
    /// identity. Matches the resource; the rule's scratch is left for the caller.
    fn route<'a>(&'a self, attrs: &[Attr<'a>], w: &mut Work<'a>) -> (EntityId, bool) {
        match match_resource(&self.rules, attrs, &w.view.entity_refs, &self.output_keys(), &mut w.scratch) {
            Outcome::Unmatched => (0, false),
            Outcome::EntityRef { id, .. } => (id, false),
            Outcome::Rule { rule } => self.rule_route(rule, &mut w.scratch),
        }
    }

    /// `route` for a resource matched by `rule`, whose alternatives are in `s`.
    fn rule_route<'a>(&'a self, rule: usize, s: &mut MatchScratch<'a>) -> (EntityId, bool) {
        match route_id(&self.rules, &self.rules.rules[rule], s) {
            Some(id) => (id, true),
            None => (s.alternatives[0].1, false),
        }
    }

    /// Which links a resource matched by `rule` may follow. One that a fleet's router sent here
    /// (it carries a route key) follows only the alias links of a rule whose links every claimant
    /// reached this collector with (`CompiledRule::links_in_fleet`), and only when it was routed
    /// by its rule's route keys; never a promotion, whose claimants (the containing entity's
    /// resources) were routed by the containing entity's keys to any collector. So a collector
    /// that sees part of the data never takes a partial view for the whole: what it cannot know,
    /// the resource keeps as its own identity. Call before the alternatives are partitioned.
    fn follow<'a>(&'a self, attrs: &[Attr<'a>], rule: usize, partition: Partition, s: &mut MatchScratch<'a>) -> Follow {
        let key = self.config.route_attribute.as_bytes();
        let Some(carried) = attrs.iter().find(|a| a.key == key) else {
            return Follow::All;
        };
        let (route, by_keys) = self.rule_route(rule, s);
        if carried.value != Value::Str(&to_hex(partition.id(route))) {
            return Follow::Nothing { misrouted: true };
        }
        if by_keys && self.rules.rules[rule].links_in_fleet {
            Follow::Aliases
        } else {
            Follow::Nothing { misrouted: false }
        }
    }

    /// In the pooling stage of a fleet (`Mode::Pool`), the id the identify stage wrote on a
    /// resource matched by `rule`, when it wrote one of the rule's type. Otherwise the resource
    /// is identified here (as the identify stage would, from what reached this collector).
    fn carried_id(&self, attrs: &[Attr<'_>], rule: usize, partition: Partition) -> Option<EntityId> {
        if self.config.mode != Mode::Pool || partition.overflow {
            return None;
        }
        let text = |key: &str| match attrs.iter().find(|a| a.key == key.as_bytes())?.value {
            Value::Str(s) => Some(s),
            _ => None,
        };
        let entity_type = text(&self.config.type_attribute)?;
        if entity_type != self.rules.rules[rule].entity_type.as_bytes() {
            return None;
        }
        crate::id::from_hex(text(&self.config.id_attribute)?)
    }

    /// Whether an identify stage is in its warm-up (`EngineConfig::warmup_seconds`).
    fn warming_up(&self, now: Stamp) -> bool {
        self.config.mode == Mode::Identify
            && now < self.started.load(Relaxed).saturating_add(self.config.warmup_seconds.min(u32::MAX as u64) as u32)
    }

    /// Identifies, pools and marks one resource; returns what the answer was computed from.
    fn process_resource<'a, O: Observer>(
        &'a self,
        w: &mut Work<'a>,
        partition: Partition,
        now: Stamp,
        out: &mut ResultWriter,
        obs: &mut O,
    ) -> Provenance {
        // The view borrows from the batch, which outlives `w`; take the attribute slice
        // references out so the scratch can be borrowed mutably alongside.
        let attrs = std::mem::take(&mut w.view.attrs);
        let mut provenance = Provenance::at(now);
        provenance.defaulted = partition.defaulted;
        // What `pool` gives this resource; emptied here, not in `pool`, because a resource of a
        // partition without a place is not pooled and must not keep the previous resource's.
        w.derived_values.clear();
        w.fills.clear();
        w.fill_spans.clear();
        if let Some(identity) = self.identify(&attrs, partition, w, now, &mut provenance, obs) {
            obs.entity(identity.id);
            if !partition.overflow && self.config.mode != Mode::Identify {
                self.pool(&identity, &attrs, w, now, &mut provenance, obs);
            }
            self.mark(&identity, &attrs, w, out);
            provenance.filled = w.fill_spans.len() as u32;
        }
        w.view.attrs = attrs;
        provenance
    }

    /// Which entity the resource describes: its declared entity, or the first rule that matches
    /// (following and recording links), by its id in `partition`. `None` when nothing matched.
    fn identify<'a, O: Observer>(
        &'a self,
        attrs: &[Attr<'a>],
        partition: Partition,
        w: &mut Work<'a>,
        now: Stamp,
        provenance: &mut Provenance,
        obs: &mut O,
    ) -> Option<Identity<'a>> {
        match match_resource(&self.rules, attrs, &w.view.entity_refs, &self.output_keys(), &mut w.scratch) {
            Outcome::Unmatched => None,
            Outcome::EntityRef { index, entity_type, id } => {
                let r = &w.view.entity_refs[index];
                let keys = r.id_keys.iter().chain(&r.description_keys).copied();
                let scope = Scope::of_keys(keys, &self.rules.global_exclude);
                if O::ENABLED {
                    let id_keys = r.id_keys.iter().map(|k| String::from_utf8_lossy(k).into_owned()).collect();
                    obs.matched(Matched::EntityRef { entity_type: entity_type.to_owned(), id_keys }, &[]);
                }
                w.identity_parts.clear();
                if self.state.changes.enabled() || self.config.entity_refs {
                    w.identity_parts.extend(r.id_keys.iter().filter_map(|k| {
                        let a = attrs.iter().find(|a| a.key == *k)?;
                        Some((String::from_utf8_lossy(k).into_owned(), id_value(a.value)?.text()))
                    }));
                }
                Some(Identity {
                    id: partition.id(id),
                    group: partition.group(),
                    rule: None,
                    entity_type,
                    ref_scope: Some(scope),
                })
            }
            Outcome::Rule { rule } => {
                if O::ENABLED {
                    let alternative = w.scratch.alternatives[0].0;
                    let parts = identity_parts(&self.rules, rule, alternative, &w.scratch);
                    let derived: Vec<(&[u8], &[u8])> =
                        w.scratch.derived.iter().map(|(k, v)| (self.rules.keys.name(*k).as_bytes(), *v)).collect();
                    obs.matched(Matched::Rule { rule, alternative, parts }, &derived);
                }
                // The pooling stage of a fleet takes the id the identify stage decided, having
                // seen every resource that could link to this one; otherwise it is decided here.
                let carried = self.carried_id(attrs, rule, partition);
                let follow = match carried {
                    Some(_) => Follow::All, // unused: no link is resolved
                    None => self.follow(attrs, rule, partition, &mut w.scratch),
                };
                provenance.misrouted = follow == Follow::Nothing { misrouted: true };
                for alternative in &mut w.scratch.alternatives {
                    alternative.1 = partition.id(alternative.1);
                }
                w.identity_parts.clear();
                if self.state.changes.enabled() || self.config.entity_refs {
                    let alternative = w.scratch.alternatives[0].0;
                    w.identity_parts = identity_parts(&self.rules, rule, alternative, &w.scratch);
                }
                let (id, rule, linked) = match carried {
                    Some(id) => (id, rule, id != w.scratch.alternatives[0].1),
                    None => {
                        let (id, rule) =
                            self.resolve_and_link(rule, attrs, partition, follow, now, &mut w.scratch, provenance, obs);
                        (id, rule, provenance.merged)
                    }
                };
                if linked {
                    w.identity_parts.clear(); // the entity is another one's: its identity is not this resource's
                }
                Some(Identity {
                    id,
                    group: partition.group(),
                    rule: Some(rule),
                    entity_type: &self.rules.rules[rule].entity_type,
                    ref_scope: None,
                })
            }
        }
    }

    /// Pools the resource's in-scope attributes, and values its rule derived, into its entity,
    /// and collects in `w.fills` what the entity's pool gives it.
    fn pool<'a, O: Observer>(
        &'a self,
        identity: &Identity<'_>,
        attrs: &[Attr<'a>],
        w: &mut Work<'a>,
        now: Stamp,
        provenance: &mut Provenance,
        obs: &mut O,
    ) {
        let rule = identity.rule;
        let scope = match (&identity.ref_scope, rule) {
            (Some(s), _) => s,
            (None, Some(r)) if self.rules.pooling && !self.rules.rules[r].scope.is_empty() => {
                &self.rules.rules[r].scope
            }
            _ => return,
        };
        let output_keys = self.output_keys();
        let mut derived_spans = Vec::new();
        for (k, v) in &w.scratch.derived {
            let start = w.derived_values.len();
            crate::wire::put_str_value(&mut w.derived_values, v);
            derived_spans.push((self.rules.keys.name(*k).as_bytes(), start, w.derived_values.len()));
        }
        let mut pool_attrs: Vec<(&[u8], &[u8])> = Vec::with_capacity(attrs.len() + derived_spans.len());
        // A blank value is no value: it is passed without its bytes, so that the key still counts
        // as the resource's own (never filled over) but nothing is pooled from it.
        pool_attrs.extend(
            attrs
                .iter()
                .filter(|a| !output_keys.contains(&a.key))
                .map(|a| (a.key, if blank(a.value) { &[][..] } else { a.raw_value })),
        );
        for (key, s, e) in &derived_spans {
            pool_attrs.push((key, &w.derived_values[*s..*e]));
        }
        let rule_spec = rule.map(|r| &self.rules.rules[r]);
        let containers = rule_spec.and_then(|r| Some((r, r.containers.as_ref()?))).map(|(r, c)| {
            let names_container = container_tags(&self.rules, r, c, &w.scratch, &mut w.container_tags);
            ContainerRequest {
                tags: &w.container_tags,
                names_container,
                scoped: &c.scoped,
                shared_when_agreed: &c.shared_when_agreed,
            }
        });
        let kind = rule.map_or(DECLARED, |r| r as Kind);
        let req = PoolRequest {
            attrs: &pool_attrs,
            scope,
            scope_index: rule,
            containers,
            kind,
            variant: w.variant,
            identity: &w.identity_parts,
            group: identity.group,
        };
        let (fills, spans) = (&mut w.fills, &mut w.fill_spans);
        // Read before pooling: any change from here on changes the cell, and so invalidates
        // the answer.
        let stamp = self.state.freshness.change_stamp(identity.id);
        self.state.pool(identity.id, &req, now, obs, |k, v| {
            let start = fills.len();
            fills.extend_from_slice(k);
            fills.extend_from_slice(v);
            spans.push((start, k.len(), v.len()));
        });
        provenance.entity = Some((identity.id, stamp));
    }

    /// Writes the answer: id, type and name (where the resource lacks them), derived values,
    /// and the pooled attributes `pool` collected.
    fn mark(&self, identity: &Identity<'_>, attrs: &[Attr<'_>], w: &Work<'_>, out: &mut ResultWriter) {
        let output_keys = self.output_keys();
        let hex = to_hex(identity.id);
        let has = |key: &[u8]| attrs.iter().find(|a| a.key == key).map(|a| a.value);
        if has(output_keys[0]) != Some(Value::Str(&hex)) {
            out.attr_str(output_keys[0], &hex);
        }
        if has(output_keys[1]) != Some(Value::Str(identity.entity_type.as_bytes())) {
            out.attr_str(output_keys[1], identity.entity_type.as_bytes());
        }
        if self.config.mode == Mode::Identify {
            // The pooling stage names, derives, fills and declares, as one collector would.
            return;
        }
        if !self.config.name_attribute.is_empty()
            && has(output_keys[2]).is_none()
            && let Some(name) = self.display_name(identity.rule, w)
        {
            out.attr_str(output_keys[2], &name);
        }
        if !self.config.rule_attribute.is_empty() {
            let rule = identity.rule.map_or("entity_ref", |r| &self.rules.rules[r].name);
            if has(output_keys[3]) != Some(Value::Str(rule.as_bytes())) {
                out.attr_str(output_keys[3], rule.as_bytes());
            }
        }
        for (k, v) in &w.scratch.derived {
            let key = self.rules.keys.name(*k).as_bytes();
            if has(key).is_none() {
                out.attr_str(key, v);
            }
        }
        for (start, klen, vlen) in &w.fill_spans {
            let key = &w.fills[*start..start + klen];
            let value = &w.fills[start + klen..start + klen + vlen];
            out.attr_raw(key, value);
        }
        if self.config.entity_refs {
            self.declare_entity(identity, attrs, w, out);
        }
    }

    /// Declares the resource's entity as an entity reference: its identifying keys (as the
    /// resource carries them) and the descriptive keys it has after marking (its own in-scope
    /// attributes and those filled). Not when the resource already declares that type, nor when
    /// its identity came through a link (its identifying keys are another entity's).
    fn declare_entity(&self, identity: &Identity<'_>, attrs: &[Attr<'_>], w: &Work<'_>, out: &mut ResultWriter) {
        let entity_type = identity.entity_type.as_bytes();
        if w.identity_parts.is_empty() || w.view.entity_refs.iter().any(|r| r.entity_type == entity_type) {
            return;
        }
        let id_keys: Vec<&[u8]> = w.identity_parts.iter().map(|(k, _)| k.as_bytes()).collect();
        let scope = match (&identity.ref_scope, identity.rule) {
            (Some(s), _) => s,
            (None, Some(r)) => &self.rules.rules[r].scope,
            (None, None) => return,
        };
        let output_keys = self.output_keys();
        let mut description: Vec<&[u8]> = attrs
            .iter()
            .map(|a| a.key)
            .filter(|k| !output_keys.contains(k) && !id_keys.contains(k) && scope.allows(k))
            .collect();
        for (start, klen, _) in &w.fill_spans {
            description.push(&w.fills[*start..start + klen]);
        }
        description.sort_unstable();
        description.dedup();
        out.entity_ref(entity_type, &id_keys, &description);
    }

    /// The canonical id of a rule match: its own lowest alternative, or where that has a link
    /// (an alias within the rule, or a promotion into a containing entity), the link's target.
    /// Records the links this resource shows. The alternatives' ids are already in `partition`.
    #[allow(clippy::too_many_arguments)]
    fn resolve_and_link<'a, O: Observer>(
        &'a self,
        rule: usize,
        attrs: &[Attr<'a>],
        partition: Partition,
        follow: Follow,
        now: Stamp,
        s: &mut MatchScratch<'a>,
        provenance: &mut Provenance,
        obs: &mut O,
    ) -> (EntityId, usize) {
        let r = &self.rules.rules[rule];
        let (first_alt, primary) = s.alternatives[0];
        let (mut id, mut effective) = (primary, rule);
        if partition.overflow {
            return (id, effective);
        }
        let may_follow = !self.warming_up(now)
            && match follow {
                Follow::All => first_alt > 0 || r.promotable,
                Follow::Aliases => first_alt > 0,
                Follow::Nothing { .. } => false,
            };
        if may_follow {
            // Read before resolving: a link created meanwhile then invalidates the answer.
            provenance.link_epoch = Some(self.state.freshness.link_epoch());
            let found = self.state.resolve(primary, now);
            // Behind a router, only a link to the resource's own type is an alias.
            let found = found
                .filter(|l| follow == Follow::All || self.rules.rules[l.rule as usize].entity_type == r.entity_type);
            if let Some(Link { target, rule: target_rule, .. }) = found {
                id = target;
                effective = target_rule as usize;
                provenance.merged = true;
                let kind = if effective == rule { LinkKind::Alias } else { LinkKind::Promotion };
                obs.followed(kind, primary, target);
            }
        }
        let linked = effective as u16;
        for i in 1..s.alternatives.len() {
            self.state.link(s.alternatives[i].1, id, linked, partition.group(), now);
        }
        for &c in &self.rules.rules[effective].contained {
            if let Some(contained_id) = standalone_id(&self.rules, &self.rules.rules[c], attrs, s) {
                self.state.link(partition.id(contained_id), id, linked, partition.group(), now);
            }
        }
        (id, effective)
    }

    /// The display name: the first display key of the rule found on the resource, among its
    /// derived values, or among the attributes just filled.
    fn display_name(&self, rule: Option<usize>, w: &Work<'_>) -> Option<Vec<u8>> {
        let rule = &self.rules.rules[rule?];
        for k in &rule.display_name {
            if let Some(v) = w.scratch.slot(*k).and_then(id_value) {
                return Some(v.text().into_bytes());
            }
            let name = self.rules.keys.name(*k).as_bytes();
            for (start, klen, vlen) in &w.fill_spans {
                if &w.fills[*start..start + klen] == name
                    && let Ok(Value::Str(s)) = read_any_value(&w.fills[start + klen..start + klen + vlen])
                {
                    return Some(s.to_vec());
                }
            }
        }
        None
    }

    pub fn stats(&self) -> Stats {
        let c = &self.state.counters;
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
            entity_changes_dropped: self.state.changes.dropped.load(Relaxed),
            routes_mismatched: self.misrouted.load(Relaxed),
        }
    }

    /// The entity events due at `now` (Unix seconds), as OTLP `LogsData` bytes (empty: none),
    /// with every entity reported again each `report_interval` seconds (`events`). The first
    /// call starts tracking what entity events need; entities learnt before it are reported
    /// once a resource describes them again.
    pub fn entity_events(&self, now: u64, report_interval: u64) -> Vec<u8> {
        let mut reporter = self.reporter.lock();
        let reporter = reporter.get_or_insert_with(|| {
            self.state.changes.enable();
            Reporter::default()
        });
        let id_attribute = &self.config.id_attribute;
        reporter.events(&self.state, &self.rules, id_attribute, self.config.ttl_seconds, stamp(now), report_interval)
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

    /// The state as snapshot bytes, at `now` (Unix seconds).
    pub fn snapshot(&self, now: u64) -> Vec<u8> {
        snapshot::save(&self.state, &self.rules, stamp(now))
    }

    /// Replaces the state with a snapshot's. On error the state is left as it was. Links to
    /// rules no longer in use are dropped. Returns the number of entities restored.
    pub fn restore(&self, bytes: &[u8], now: u64) -> Result<u64, SnapshotError> {
        let restored = snapshot::load(&self.state, &self.rules, bytes, stamp(now))?;
        self.cache.clear();
        Ok(restored)
    }
}

/// The tags of the container a resource speaks for (see `containers`): one per naming key and
/// value it carries, a hash of the value and the key's first spelling (so `container.name=cart`
/// and `k8s.container.name=cart` name one container). A value that identifies nothing makes no
/// tag. Returns whether the resource names a container at all.
fn container_tags(
    rules: &RuleSet,
    rule: &CompiledRule,
    c: &ContainerScope,
    s: &MatchScratch<'_>,
    tags: &mut Vec<u64>,
) -> bool {
    tags.clear();
    let mut names = false;
    for spellings in &c.named_by {
        let canonical = rules.keys.name(spellings[0]).as_bytes();
        for k in spellings {
            let Some(v) = s.slot(*k).filter(|v| !blank(*v)) else {
                continue;
            };
            names = true;
            if let Some(v) = id_value(v).filter(|v| identifies(rules, rule, *k, *v)) {
                let tag = container_tag(canonical, v);
                if !tags.contains(&tag) {
                    tags.push(tag);
                }
            }
        }
    }
    names
}
