//! Explanations: why each resource got its id, type and name, which attributes it gained and
//! from which source, and which it did not and why. The `explain` tool feeds captured telemetry
//! through an `Explainer`, which runs the engine itself and listens to its decisions
//! (`observe`): nothing here decides anything, it only records and reports.
//!
//! Resources are numbered by first appearance; a resource seen again (same bytes, same
//! partition) is the same resource, explained as it was decided the last time it was seen,
//! after everything before it was learnt.

mod json;

use crate::config::ConfigError;
use crate::engine::Engine;
use crate::explain::json::any_value_json;
use crate::id::{EntityId, to_hex};
use crate::observe::{LinkKind, Matched, Observer, Offer, Reported};
use crate::wire::{ResourceView, WireError, for_each_resource, read_resource};
use serde::Serialize;
use serde_json::{Map, Value as J};
use std::collections::{BTreeMap, HashMap};
use xxhash_rust::xxh3::{xxh3_64, xxh3_128};

/// The explanation of one distinct resource.
#[derive(Debug, Clone, Serialize)]
pub struct Explanation {
    /// Number of the resource (by first appearance).
    pub resource: usize,
    /// Position of its first appearance among all resources fed, counting repeats.
    pub first_seen: usize,
    pub times_seen: usize,
    pub partition: String,
    pub attributes: Map<String, J>,
    /// The entity's id, type and name after processing (absent: no rule matched).
    pub id: Option<String>,
    #[serde(rename = "type")]
    pub entity_type: Option<String>,
    pub name: Option<String>,
    pub matched: Option<MatchedBy>,
    pub derived: BTreeMap<String, String>,
    pub links: Vec<LinkFollowed>,
    /// Identities of the resource (keys and values) that two entities claimed: their links
    /// join nothing (`ambiguous_links`).
    pub ambiguous_links: Vec<BTreeMap<String, String>>,
    pub pooled: Vec<PooledIn>,
    pub refused: Vec<Refused>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchedBy {
    /// A rule, the identity alternative used (0 is the rule's first), and its keys and values
    /// (empty for the exact-match rule, whose identity is every attribute).
    Rule { rule: String, alternative: usize, identity: BTreeMap<String, String> },
    /// An entity reference the resource declares, of a type the rules do not decide.
    EntityRef { entity_type: String, id_keys: Vec<String> },
}

#[derive(Debug, Clone, Serialize)]
pub struct LinkFollowed {
    /// `alias` (another identity of the same entity) or `promotion` (a containing entity).
    pub kind: &'static str,
    /// The id the resource's own identity has, and the id the link led to.
    pub from: String,
    pub to: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct PooledIn {
    pub key: String,
    pub value: J,
    /// The resources that reported this value.
    pub from: Vec<usize>,
}

/// An attribute the resource lacked and was not given, with the evidence that decided it.
#[derive(Debug, Clone, Serialize)]
pub struct Refused {
    pub key: String,
    /// `own value`, `ambiguous`, `container-scoped`, `out of scope`, `excluded by config`,
    /// `blank value` or `over a size bound`.
    pub reason: &'static str,
    /// What the entity's sources reported for the key, and which resource reported each.
    pub values: Vec<Reporting>,
    /// For `container-scoped`: the keys and values by which this resource names its container
    /// (empty: it names none), to hold against each value's `container`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<BTreeMap<String, String>>,
    /// For `out of scope` and `excluded by config`: the pooling scope that left the key out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<LeftOut>,
}

/// What left a key out of pooling.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LeftOut {
    /// The rule's pooling scope (its `pool` with `pooling.include`), none of whose patterns
    /// matches the key.
    Rule { rule: String, pools: Vec<String> },
    /// The `pooling.exclude` pattern that matches the key.
    Exclude { pattern: String },
    /// A declared entity ref pools only its own id and description keys.
    EntityRef,
}

#[derive(Debug, Clone, Serialize)]
pub struct Reporting {
    pub value: J,
    pub from: usize,
    /// For a value held per container: the keys and values by which the reporting resource
    /// named its container (empty: it named none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<BTreeMap<String, String>>,
}

/// Everything explained so far, and what it adds up to.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub resources: Vec<Explanation>,
    pub summary: Summary,
}

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub resources: usize,
    pub entities: usize,
    /// Entities and resources per entity type.
    pub by_type: BTreeMap<String, TypeCount>,
    /// The entities with the most distinct resources, largest first (at most ten).
    pub largest: Vec<Group>,
    /// Resources that joined their entity only through a link.
    pub joined_through_link: Vec<usize>,
    /// Resources no rule matched.
    pub unmatched: Vec<usize>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct TypeCount {
    pub entities: usize,
    pub resources: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Group {
    pub id: String,
    #[serde(rename = "type")]
    pub entity_type: String,
    pub resources: Vec<usize>,
}

/// The decisions about one resource, as the engine told them.
#[derive(Default)]
struct Recording {
    matched: Option<(Matched, Vec<(String, String)>)>,
    followed: Vec<(LinkKind, EntityId, EntityId)>,
    entity: Option<EntityId>,
    container: Option<Vec<(String, String)>>,
    ambiguous_links: Vec<Vec<(String, String)>>,
    reported: Vec<(Vec<u8>, Vec<u8>, Reported)>,
    offered: Vec<(Vec<u8>, Option<Vec<u8>>, Offer)>,
}

impl Observer for Recording {
    const ENABLED: bool = true;

    fn matched(&mut self, how: Matched, derived: &[(&[u8], &[u8])]) {
        let derived = derived.iter().map(|(k, v)| (lossy(k), lossy(v))).collect();
        self.matched = Some((how, derived));
    }

    fn followed(&mut self, kind: LinkKind, from: EntityId, to: EntityId) {
        self.followed.push((kind, from, to));
    }

    fn entity(&mut self, id: EntityId) {
        self.entity = Some(id);
    }

    fn container(&mut self, naming: Vec<(String, String)>) {
        self.container = Some(naming);
    }

    fn ambiguous_link(&mut self, identity: Vec<(String, String)>) {
        if !self.ambiguous_links.contains(&identity) {
            self.ambiguous_links.push(identity);
        }
    }

    fn reported(&mut self, key: &[u8], value: &[u8], fate: Reported) {
        self.reported.push((key.to_vec(), value.to_vec(), fate));
    }

    fn offered(&mut self, key: &[u8], value: Option<&[u8]>, offer: Offer) {
        self.offered.push((key.to_vec(), value.map(<[u8]>::to_vec), offer));
    }
}

/// A value some resource reported for a key of an entity, and what became of it.
struct Source {
    value: Vec<u8>,
    resource: usize,
    fate: Reported,
}

/// The values reported for one key of an entity, each once per resource.
#[derive(Default)]
struct Sources {
    list: Vec<Source>,
    /// (resource, hash of value) of `list` once it is long, so that a repeat is found in one
    /// probe; a short list is searched (most keys have a few sources, and a set each would
    /// cost more memory than the list).
    seen: std::collections::HashSet<(usize, u64)>,
}

impl Sources {
    const SEARCHED: usize = 8;

    /// Adds the value `resource` reported, unless it reported it before.
    fn add(&mut self, resource: usize, value: &[u8], fate: Reported) {
        if self.list.len() < Self::SEARCHED {
            if self.list.iter().any(|s| s.resource == resource && s.value == value) {
                return;
            }
        } else {
            if self.seen.is_empty() {
                self.seen.extend(self.list.iter().map(|s| (s.resource, xxh3_64(&s.value))));
            }
            if !self.seen.insert((resource, xxh3_64(value))) {
                return;
            }
        }
        self.list.push(Source { value: value.to_vec(), resource, fate });
    }
}

pub struct Explainer {
    engine: Engine,
    /// Distinct resources by hash of partition and bytes.
    numbers: HashMap<u128, usize>,
    explanations: Vec<Explanation>,
    /// Per entity and key, every value its resources reported; ordered, so that explaining a
    /// resource reads its own entity's keys as one range, not every entity's.
    sources: BTreeMap<(EntityId, Vec<u8>), Sources>,
    /// Per resource, the container it names (for a rule whose entity is made of containers)
    /// and the rule it matched, the evidence of refusals.
    containers: HashMap<usize, BTreeMap<String, String>>,
    rules: HashMap<usize, usize>,
    fed: usize,
}

impl Explainer {
    pub fn from_json(config: &[u8]) -> Result<Explainer, ConfigError> {
        Ok(Explainer {
            engine: Engine::from_json(config)?,
            numbers: HashMap::new(),
            explanations: Vec::new(),
            sources: BTreeMap::new(),
            containers: HashMap::new(),
            rules: HashMap::new(),
            fed: 0,
        })
    }

    /// Processes one batch (as `Engine::process_partition` takes it) at `now`, explaining each
    /// of its resources.
    pub fn add(&mut self, partition: &[u8], batch: &[u8], now: u64) -> Result<(), WireError> {
        // Number the batch's resources first, so that a resource can name itself as a source.
        let mut numbers = Vec::new();
        for_each_resource(batch, |resource| {
            let key = xxh3_128(&[&(partition.len() as u64).to_le_bytes()[..], partition, resource].concat());
            let next = self.numbers.len();
            let n = *self.numbers.entry(key).or_insert(next);
            numbers.push((n, self.fed));
            self.fed += 1;
            Ok(())
        })?;
        let mut recordings = Vec::with_capacity(numbers.len());
        let mut i = 0;
        let engine = &self.engine;
        let mut recording = Recording::default();
        engine.process_observed(partition, batch, now, &mut recording, |rec, attrs, answer| {
            let (number, position) = numbers[i];
            i += 1;
            let own: Vec<(Vec<u8>, Vec<u8>)> = attrs.iter().map(|a| (a.key.to_vec(), a.raw_value.to_vec())).collect();
            recordings.push((number, position, std::mem::take(rec), own, answer.to_vec()));
        })?;
        for (number, position, rec, own, answer) in recordings {
            self.remember_sources(number, &rec);
            let explanation = self.explain(number, position, partition, rec, &own, &answer);
            match self.explanations.get_mut(number) {
                Some(e) => {
                    let times_seen = e.times_seen + 1;
                    *e = Explanation { first_seen: e.first_seen, times_seen, ..explanation };
                }
                None => self.explanations.push(explanation),
            }
        }
        Ok(())
    }

    fn remember_sources(&mut self, resource: usize, rec: &Recording) {
        if let Some(naming) = &rec.container {
            self.containers.insert(resource, naming.iter().cloned().collect());
        }
        if let Some((Matched::Rule { rule, .. }, _)) = &rec.matched {
            self.rules.insert(resource, *rule);
        }
        let Some(entity) = rec.entity else { return };
        for (key, value, fate) in &rec.reported {
            self.sources.entry((entity, key.clone())).or_default().add(resource, value, *fate);
        }
    }

    fn sources(&self, entity: EntityId, key: &[u8]) -> &[Source] {
        self.sources.get(&(entity, key.to_vec())).map(|s| s.list.as_slice()).unwrap_or_default()
    }

    /// The resources that reported `value` for the key.
    fn reported_by(&self, entity: EntityId, key: &[u8], value: &[u8]) -> Vec<usize> {
        self.sources(entity, key).iter().filter(|s| s.value == value).map(|s| s.resource).collect()
    }

    /// A refusal of the key to resource `number`, with its evidence: every value the entity's
    /// sources reported (and, where containers matter, the container each named); for a
    /// container-scoped key, the container this resource names; for a key left out of a
    /// pooling scope, the scope of the rule that decided (the resource's own, or that of the
    /// resource that reported it, `decided_by`).
    fn refusal(&self, entity: EntityId, key: &[u8], reason: &'static str, number: usize, decided_by: usize) -> Refused {
        let per_container = matches!(reason, "container-scoped" | "ambiguous");
        let container_of = |n: usize| self.containers.get(&n).cloned().filter(|_| per_container);
        let values = self.sources(entity, key);
        let values = values.iter().map(|s| Reporting {
            value: any_value_json(&s.value),
            from: s.resource,
            container: container_of(s.resource),
        });
        let rule = self.rules.get(&decided_by).map(|r| &self.engine.rules().rules[*r]);
        let scope = match (reason, rule) {
            ("excluded by config", Some(r)) => r.scope.excluded_by(key).map(|pattern| LeftOut::Exclude { pattern }),
            ("out of scope", Some(r)) => Some(LeftOut::Rule { rule: r.name.to_string(), pools: r.scope.patterns() }),
            ("out of scope", None) => Some(LeftOut::EntityRef),
            _ => None,
        };
        Refused {
            key: lossy(key),
            reason,
            values: values.collect(),
            container: (reason == "container-scoped")
                .then(|| self.containers.get(&number).cloned().unwrap_or_default()),
            scope,
        }
    }

    fn explain(
        &self,
        number: usize,
        position: usize,
        partition: &[u8],
        rec: Recording,
        own: &[(Vec<u8>, Vec<u8>)],
        answer: &[u8],
    ) -> Explanation {
        let attributes: Map<String, J> = own.iter().map(|(k, v)| (lossy(k), any_value_json(v))).collect();
        let config = self.engine.config();
        let mut upserts = ResourceView::default();
        let _ = read_resource(answer, &mut upserts);
        // After processing: the answer's value, else the resource's own.
        let after = |key: &str| {
            let upserted = upserts.attrs.iter().find(|a| a.key == key.as_bytes()).map(|a| any_value_json(a.raw_value));
            match upserted.or_else(|| attributes.get(key).cloned()) {
                Some(J::String(s)) => Some(s),
                _ => None,
            }
        };
        let matched = rec.matched.as_ref().map(|(how, _)| match how {
            Matched::Rule { rule, alternative, parts } => MatchedBy::Rule {
                rule: self.engine.rules().rules[*rule].name.to_string(),
                alternative: *alternative,
                identity: parts.iter().cloned().collect(),
            },
            Matched::EntityRef { entity_type, id_keys } => {
                MatchedBy::EntityRef { entity_type: entity_type.clone(), id_keys: id_keys.clone() }
            }
        });
        let links = rec
            .followed
            .iter()
            .map(|(kind, from, to)| LinkFollowed {
                kind: match kind {
                    LinkKind::Alias => "alias",
                    LinkKind::Promotion => "promotion",
                },
                from: hex(*from),
                to: hex(*to),
            })
            .collect();
        let derived: BTreeMap<String, String> =
            rec.matched.as_ref().map(|(_, d)| d.iter().cloned().collect()).unwrap_or_default();
        // The resource's own value of a key, as JSON: an attribute, or a value its rule derived.
        let own = |key: &[u8]| match own.iter().find(|(k, _)| k == key) {
            Some((_, v)) => Some(any_value_json(v)),
            None => derived.get(&lossy(key)).map(|v| J::String(v.clone())),
        };
        let mut pooled = Vec::new();
        let mut refused = Vec::new();
        let mut told: Vec<&[u8]> = Vec::new();
        if let Some(entity) = rec.entity {
            for (key, value, offer) in &rec.offered {
                if told.contains(&key.as_slice()) {
                    continue; // told for the entity and again for its container: once is enough
                }
                told.push(key);
                let reason = match offer {
                    Offer::Filled => {
                        let value = value.as_deref().unwrap_or_default();
                        let from = self.reported_by(entity, key, value);
                        pooled.push(PooledIn { key: lossy(key), value: any_value_json(value), from });
                        continue;
                    }
                    // Worth telling only where the entity's sources said otherwise.
                    Offer::OwnValue if value.as_deref().is_some_and(|v| Some(any_value_json(v)) == own(key)) => {
                        continue;
                    }
                    Offer::OwnValue => "own value",
                    Offer::Ambiguous => "ambiguous",
                    Offer::ContainerScoped => "container-scoped",
                    Offer::OutOfScope => "out of scope",
                };
                refused.push(self.refusal(entity, key, reason, number, number));
            }
            // Keys the entity's other resources reported that were never pooled, with the first
            // resource that reported each (whose rule decided).
            let mut never_pooled: Vec<(&[u8], &'static str, usize)> = self
                .sources
                .range((entity, Vec::new())..)
                .take_while(|((e, _), _)| *e == entity)
                .filter(|((_, key), _)| !told.contains(&key.as_slice()))
                .filter(|((_, key), _)| !attributes.contains_key(&lossy(key)))
                .filter_map(|((_, key), sources)| {
                    let (reason, decided_by) = sources.list.iter().find_map(|s| match s.fate {
                        Reported::OutOfScope => Some(("out of scope", s.resource)),
                        Reported::Excluded => Some(("excluded by config", s.resource)),
                        Reported::Blank => Some(("blank value", s.resource)),
                        Reported::TooLarge => Some(("over a size bound", s.resource)),
                        _ => None,
                    })?;
                    Some((key.as_slice(), reason, decided_by))
                })
                .collect();
            never_pooled.sort();
            for (key, reason, decided_by) in never_pooled {
                refused.push(self.refusal(entity, key, reason, number, decided_by));
            }
        }
        pooled.sort_by(|a, b| a.key.cmp(&b.key));
        refused.sort_by(|a, b| (a.reason, &a.key).cmp(&(b.reason, &b.key)));
        Explanation {
            resource: number,
            first_seen: position,
            times_seen: 1,
            partition: lossy(partition),
            id: rec.entity.and(after(&config.id_attribute)),
            entity_type: rec.entity.and(after(&config.type_attribute)),
            name: rec.entity.and_then(|_| after(&config.name_attribute).filter(|_| !config.name_attribute.is_empty())),
            matched,
            derived,
            links,
            ambiguous_links: rec.ambiguous_links.iter().map(|i| i.iter().cloned().collect()).collect(),
            pooled,
            refused,
            attributes,
        }
    }

    /// Every distinct resource's explanation, and the summary.
    pub fn report(&self) -> Report {
        let mut by_type: BTreeMap<String, TypeCount> = BTreeMap::new();
        let mut groups: BTreeMap<(String, String), Vec<usize>> = BTreeMap::new();
        let mut summary = Summary {
            resources: self.explanations.len(),
            entities: 0,
            by_type: BTreeMap::new(),
            largest: Vec::new(),
            joined_through_link: Vec::new(),
            unmatched: Vec::new(),
        };
        for e in &self.explanations {
            match (&e.id, &e.entity_type) {
                (Some(id), Some(t)) => groups.entry((t.clone(), id.clone())).or_default().push(e.resource),
                _ => summary.unmatched.push(e.resource),
            }
            if !e.links.is_empty() {
                summary.joined_through_link.push(e.resource);
            }
        }
        for ((t, _), resources) in &groups {
            let c = by_type.entry(t.clone()).or_default();
            c.entities += 1;
            c.resources += resources.len();
        }
        summary.entities = groups.len();
        summary.by_type = by_type;
        let mut largest: Vec<Group> =
            groups.into_iter().map(|((entity_type, id), resources)| Group { id, entity_type, resources }).collect();
        largest.sort_by(|a, b| b.resources.len().cmp(&a.resources.len()).then(a.resources.cmp(&b.resources)));
        largest.truncate(10);
        summary.largest = largest;
        Report { resources: self.explanations.clone(), summary }
    }
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn hex(id: EntityId) -> String {
    lossy(&to_hex(id))
}
