//! The decisions for one resource: route it (`mode: route`), identify it (rules, links, declared
//! entities), mark it (id, type, name) and pool it, telling an observer each decision as it is
//! made.

use crate::answers::freshness::Provenance;
use crate::clock::Stamp;
use crate::config::Mode;
use crate::engine::{Engine, Work};
use crate::id::{EntityId, container_tag, to_hex};
use crate::observe::{LinkKind, Matched, Observer};
use crate::resource::recycle;
use crate::rules::matcher::{
    MatchScratch, Outcome, ScopedName, blank, id_value, identifies, identity_parts, match_resource, poolable, route_id,
    standalone_id,
};
use crate::rules::{CompiledRule, ContainerScope, RuleSet, Scope};
use crate::state::Link;
use crate::state::fragmentation::{DECLARED, Kind};
use crate::state::partitions::Partition;
use crate::state::pooling::{ContainerRequest, PoolRequest};
use crate::wire::{Attr, ResultWriter, Value, read_any_value};
use std::borrow::Cow;
use std::sync::atomic::Ordering::Relaxed;

/// The most links one resolution follows: a bare name to its scoped name, that to the entity it
/// is an alias of, and that into the entity containing it. Links never form a cycle but through
/// a rule that names one key both bare and scoped; the bound keeps such a rule finite.
const MAX_HOPS: usize = 3;

/// Which links a resource may follow (`Engine::follow`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Follow {
    /// Every link: the engine sees all the data (no router in front).
    All,
    /// Alias links, and a rule's bare-name links but a contained rule's, within its type: a
    /// router sent it here by its rule's route keys.
    Aliases,
    /// None: a router sent it by its own identity (`misrouted: false`), or by a key this engine
    /// would not compute (`misrouted: true`: the tiers are configured differently).
    Nothing { misrouted: bool },
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

impl Engine {
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
    pub(super) fn route_resource<'a>(
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
        provenance.counts.defaulted = partition.defaulted;
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
    /// (it carries a route key) follows only the alias and bare-name links of a rule whose links
    /// every claimant reached this collector with (`CompiledRule::links_in_fleet`), and only when
    /// it was routed by its rule's route keys; never a promotion, nor a contained rule's bare name,
    /// whose claimants (the containing entity's resources) were routed by the containing entity's
    /// keys to any collector. So a collector that sees part of the data never takes a partial view
    /// for the whole: what it cannot know, the resource keeps as its own identity. Call before the
    /// alternatives are partitioned.
    fn follow<'a>(&'a self, attrs: &[Attr<'a>], rule: usize, partition: Partition, s: &mut MatchScratch<'a>) -> Follow {
        let Some(carried) = self.carried_route(attrs) else {
            return Follow::All; // no router sent it: its route need not be computed
        };
        let (route, by_keys) = self.rule_route(rule, s);
        if !routed_by(carried, partition, route) {
            Follow::Nothing { misrouted: true }
        } else if by_keys && self.rules.rules[rule].links_in_fleet {
            Follow::Aliases
        } else {
            Follow::Nothing { misrouted: false }
        }
    }

    /// The route key a resource carries (`None`: no router sent it).
    fn carried_route<'a>(&self, attrs: &[Attr<'a>]) -> Option<Value<'a>> {
        let key = self.config.route_attribute.as_bytes();
        attrs.iter().find(|a| a.key == key).map(|a| a.value)
    }

    /// In the pooling stage of a fleet (`Mode::Pool`), the id the identify stage wrote on a
    /// resource matched by `rule`, when it wrote one of the rule's type. Otherwise the resource
    /// is identified here (as the identify stage would, from what reached this collector).
    fn carried_id(&self, attrs: &[Attr<'_>], rule: usize, partition: Partition) -> Option<EntityId> {
        if self.config.mode != Mode::Pool || partition.stateless {
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
    pub(super) fn warming_up(&self, now: Stamp) -> bool {
        self.config.mode == Mode::Identify
            && now < self.started.load(Relaxed).saturating_add(self.config.warmup_seconds.min(u32::MAX as u64) as u32)
    }

    /// Identifies, pools and marks one resource; returns what the answer was computed from.
    pub(super) fn process_resource<'a, O: Observer>(
        &'a self,
        w: &mut Work<'a>,
        mut partition: Partition,
        now: Stamp,
        out: &mut ResultWriter,
        obs: &mut O,
    ) -> Provenance {
        // The view borrows from the batch, which outlives `w`; take the attribute slice
        // references out so the scratch can be borrowed mutably alongside.
        let attrs = std::mem::take(&mut w.view.attrs);
        let mut provenance = Provenance::at(now);
        provenance.counts.defaulted = partition.defaulted;
        // What `pool` gives this resource; emptied here, not in `pool`, because a resource
        // served statelessly is not pooled and must not keep the previous resource's.
        w.derived_values.clear();
        w.fills.clear();
        w.fill_spans.clear();
        if let Some(identity) = self.identify(&attrs, &mut partition, w, now, &mut provenance, obs) {
            obs.entity(identity.id);
            if !partition.stateless && self.config.mode != Mode::Identify {
                self.pool(&identity, &attrs, w, now, &mut provenance, obs);
            }
            self.mark(&identity, &attrs, w, out);
            provenance.counts.filled = u16::try_from(w.fill_spans.len()).unwrap_or(u16::MAX);
        }
        w.view.attrs = attrs;
        provenance
    }

    /// Which entity the resource describes: its declared entity, or the first rule that matches
    /// (following and recording links), by its id in `partition`. `None` when nothing matched.
    fn identify<'a, O: Observer>(
        &'a self,
        attrs: &[Attr<'a>],
        partition: &mut Partition,
        w: &mut Work<'a>,
        now: Stamp,
        provenance: &mut Provenance,
        obs: &mut O,
    ) -> Option<Identity<'a>> {
        match match_resource(&self.rules, attrs, &w.view.entity_refs, &self.output_keys(), &mut w.scratch) {
            Outcome::Unmatched => None,
            Outcome::EntityRef { index, entity_type, id } => {
                if self.carried_route(attrs).is_some_and(|carried| !routed_by(carried, *partition, id)) {
                    misrouted(partition, provenance);
                }
                let r = &w.view.entity_refs[index];
                let keys = r.id_keys.iter().chain(&r.description_keys).copied();
                let scope = Scope::of_keys(keys, &self.rules.global_exclude);
                if O::ENABLED {
                    let id_keys = r.id_keys.iter().map(|k| String::from_utf8_lossy(k).into_owned()).collect();
                    obs.matched(Matched::EntityRef { entity_type: entity_type.to_owned(), id_keys }, &[]);
                }
                w.identity_parts.clear();
                if self.state.changes().enabled() || self.config.entity_refs {
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
                let carried = self.carried_id(attrs, rule, *partition);
                let follow = self.follow(attrs, rule, *partition, &mut w.scratch);
                if follow == (Follow::Nothing { misrouted: true }) {
                    // The pooling stage checks too: the identify stage marked the id, but
                    // pooling under it would put the resource in this partition's entity.
                    misrouted(partition, provenance);
                }
                for alternative in &mut w.scratch.alternatives {
                    alternative.1 = partition.id(alternative.1);
                }
                for q in &mut w.scratch.scoped_names {
                    if let ScopedName::Scoped { bare } = q {
                        *bare = partition.id(*bare);
                    }
                }
                w.identity_parts.clear();
                if self.state.changes().enabled() || self.config.entity_refs {
                    let alternative = w.scratch.alternatives[0].0;
                    w.identity_parts = identity_parts(&self.rules, rule, alternative, &w.scratch);
                }
                let (id, rule, linked) = match carried {
                    Some(id) => (id, rule, id != w.scratch.alternatives[0].1),
                    None => {
                        let (id, rule) = self.resolve_and_link(
                            rule,
                            attrs,
                            *partition,
                            follow,
                            now,
                            &mut w.scratch,
                            provenance,
                            obs,
                        );
                        (id, rule, provenance.counts.merged)
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
        let mut pool_attrs: Vec<(&[u8], &[u8])> = recycle(std::mem::take(&mut w.pool_attrs));
        // A value that says nothing (`poolable`) is passed without its bytes, so that the key
        // still counts as the resource's own (never filled over) but nothing is pooled from it.
        pool_attrs.extend(
            attrs
                .iter()
                .filter(|a| !output_keys.contains(&a.key))
                .map(|a| (a.key, if poolable(a.value) { a.raw_value } else { &[][..] })),
        );
        for (key, s, e) in &derived_spans {
            pool_attrs.push((key, &w.derived_values[*s..*e]));
        }
        let rule_spec = rule.map(|r| &self.rules.rules[r]);
        if O::ENABLED
            && let Some(c) = rule_spec.and_then(|r| r.containers.as_ref())
        {
            obs.container(container_naming(&self.rules, c, &w.scratch));
        }
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
            partition: &w.partition_name,
        };
        let (fills, spans) = (&mut w.fills, &mut w.fill_spans);
        // The stamp the fills were read under: the resource's own contribution to the pool does
        // not invalidate its answer (read before pooling, every new entity's first answer did,
        // and the resource's next batch recomputed it), any later change does.
        let stamp = self.state.pool(identity.id, &req, now, obs, |k, v| {
            let start = fills.len();
            fills.extend_from_slice(k);
            fills.extend_from_slice(v);
            spans.push((start, k.len(), v.len()));
        });
        provenance.entity = Some((identity.id, stamp));
        w.pool_attrs = recycle(pool_attrs);
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
    /// (an alias within the rule, a promotion into a containing entity, or a bare name's link to
    /// the one scoped name it stands for, `ScopedName`), the link's target, followed on while it
    /// has a link (`MAX_HOPS`). Records the links this resource shows. The alternatives' ids are
    /// already in `partition`.
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
        if partition.stateless {
            return (id, effective);
        }
        // A bare name (its scopes absent) may stand for a scoped one.
        let bare = s.scoped_names[0] == ScopedName::Bare;
        let may_follow = !self.warming_up(now)
            && match follow {
                Follow::All => first_alt > 0 || r.promotable || bare,
                // The claimants of a bare name carry the route keys too (`route_of`), but for
                // a contained rule's, whichever alternative it is: its containing entity's
                // resources claim it too, routed by their own keys to any collector.
                Follow::Aliases => (first_alt > 0 || bare) && !(bare && r.promotable),
                Follow::Nothing { .. } => false,
            };
        if may_follow {
            // Read before resolving: a link created meanwhile then invalidates the answer.
            provenance.link_epoch = Some(self.state.freshness().link_epoch());
            // Behind a router, only a link to the resource's own type is an alias.
            let usable =
                |l: &Link| follow == Follow::All || self.rules.rules[l.rule as usize].entity_type == r.entity_type;
            let mut from = primary;
            for _ in 0..MAX_HOPS {
                let Some(Link { target, rule: target_rule, .. }) = self.state.resolve(from, now).filter(|l| usable(l))
                else {
                    break;
                };
                let same_type =
                    self.rules.rules[target_rule as usize].entity_type == self.rules.rules[effective].entity_type;
                let kind = if same_type { LinkKind::Alias } else { LinkKind::Promotion };
                obs.followed(kind, from, target);
                (id, effective, from) = (target, target_rule as usize, target);
                provenance.counts.merged = true;
            }
            if O::ENABLED && id == primary && self.state.link_is_ambiguous(primary) {
                obs.ambiguous_link(identity_parts(&self.rules, rule, first_alt, s));
            }
        }
        let linked = effective as u16;
        for i in 1..s.alternatives.len() {
            let ambiguous = self.state.link(s.alternatives[i].1, id, linked, partition.group(), now);
            if O::ENABLED && ambiguous {
                obs.ambiguous_link(identity_parts(&self.rules, rule, s.alternatives[i].0, s));
            }
        }
        // Each bare name stands for the scoped name this resource gives it: two scopes that
        // claim one bare name make its link ambiguous, and then nothing follows it.
        for (&(alternative, scoped), q) in s.alternatives.iter().zip(&s.scoped_names) {
            if let ScopedName::Scoped { bare } = *q {
                let ambiguous = self.state.link(bare, scoped, rule as u16, partition.group(), now);
                if O::ENABLED && ambiguous {
                    obs.ambiguous_link(identity_parts(&self.rules, rule, alternative, s));
                }
            }
        }
        for &c in &self.rules.rules[effective].contained {
            if let Some((contained_id, q)) = standalone_id(&self.rules, &self.rules.rules[c], attrs, s) {
                let contained_id = partition.id(contained_id);
                self.state.link(contained_id, id, linked, partition.group(), now);
                if let ScopedName::Scoped { bare } = q {
                    self.state.link(partition.id(bare), contained_id, c as u16, partition.group(), now);
                }
            }
        }
        (id, effective)
    }

    /// The display name: the first display key of the rule found on the resource, among its
    /// derived values, or among the attributes just filled.
    fn display_name<'w>(&self, rule: Option<usize>, w: &'w Work<'_>) -> Option<Cow<'w, [u8]>> {
        let rule = &self.rules.rules[rule?];
        for k in &rule.display_name {
            if let Some(v) = w.scratch.slot(*k).and_then(id_value) {
                return Some(match v.text_borrowed() {
                    Cow::Borrowed(text) => Cow::Borrowed(text.as_bytes()),
                    Cow::Owned(text) => Cow::Owned(text.into_bytes()),
                });
            }
            let name = self.rules.keys.name(*k).as_bytes();
            for (start, klen, vlen) in &w.fill_spans {
                if &w.fills[*start..start + klen] == name
                    && let Ok(Value::Str(s)) = read_any_value(&w.fills[start + klen..start + klen + vlen])
                {
                    return Some(Cow::Borrowed(s));
                }
            }
        }
        None
    }
}

/// A resource whose route key this collector would not compute was routed under another
/// partition (a tenant header lost or changed between the tiers) or other rules. What it says
/// cannot be placed, so it is served statelessly: identified by what it carries, and nothing of
/// it pooled into, linked to or given from this partition's entities, which may be another
/// tenant's.
fn misrouted(partition: &mut Partition, provenance: &mut Provenance) {
    provenance.counts.misrouted = true;
    partition.stateless = true;
}

/// Whether a carried route key is the one this collector computes for `route` in `partition`.
fn routed_by(carried: Value<'_>, partition: Partition, route: EntityId) -> bool {
    carried == Value::Str(&to_hex(partition.id(route)))
}

/// The keys and values by which a resource names its container, as it spells them (`explain`).
fn container_naming(rules: &RuleSet, c: &ContainerScope, s: &MatchScratch<'_>) -> Vec<(String, String)> {
    let spellings = c.named_by.iter().flatten();
    let named = spellings.filter_map(|k| Some((*k, id_value(s.slot(*k).filter(|v| !blank(*v))?)?)));
    named.map(|(k, v)| (rules.keys.name(k).to_string(), v.text())).collect()
}

/// The tags of the container a resource speaks for (see `state::containers`): one per naming key and
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
