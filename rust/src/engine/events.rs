//! Entity events (OpenTelemetry specification `entities/entity-events.md`): log records named
//! `entity.state` and `entity.delete`, written as OTLP `LogsData`, for the entity events
//! receiver to publish.
//!
//! The reporter says `entity.state` for an entity when it is first described (it has an
//! identity), when its description or relationships change (the state's change queue), and for
//! every entity once per report interval; `entity.delete` when an entity it announced is gone:
//! `expired` when it was not seen for the TTL, else `evicted` (by the size limit). Deletes are
//! found at the periodic report, since the state forgets lazily.
//!
//! An event carries `entity.type`, `entity.id` (the identifying keys and values of the entity's
//! canonical identity), `entity.description` (the agreed pooled attributes, and the id the
//! processor writes on the entity's resources, so that telemetry joins its entity),
//! `entity.relationships` (from the rule's relationships, each only when its target identity is
//! unambiguous) and `entity.report.interval`.

use crate::clock::{STAMP_EPOCH_UNIX, Stamp};
use crate::config::EngineConfig;
use crate::id::{EntityId, IdValue, to_hex};
use crate::rules::RuleSet;
use crate::rules::matcher::names_no_service;
use crate::state::fragmentation::DECLARED;
use crate::state::{Description, State};
use crate::wire::fields::*;
use crate::wire::{put_bytes_field, put_str_attr};
use std::collections::HashMap;
use xxhash_rust::xxh3::xxh3_64;

/// Name of the instrumentation scope of the events.
pub const SCOPE: &str = "resourceequality";

/// What the reporter last said of an entity.
struct Announced {
    entity_type: String,
    identity: Vec<(String, String)>,
    digest: u64,
    last_seen: Stamp,
    partition: PartitionName,
}

/// The name of an entity's partition (`None`: the unnamed partition).
type PartitionName = Option<Box<[u8]>>;

#[derive(Default)]
pub struct Reporter {
    announced: HashMap<EntityId, Announced>,
    last_full: Option<Stamp>,
}

/// One event, ready to encode.
struct Event<'a> {
    name: &'static str,
    entity_type: &'a str,
    identity: &'a [(String, String)],
    body: EventBody<'a>,
}

enum EventBody<'a> {
    State { description: &'a [(Vec<u8>, Vec<u8>)], relationships: &'a [Related], interval: u64 },
    Delete { reason: &'static str },
}

/// A relationship of an entity, resolved from its description.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Related {
    pub relationship_type: String,
    pub target_type: String,
    pub target_identity: Vec<(String, String)>,
}

/// The relationships of an entity decided by rule `kind` whose targets' identities its
/// identity and agreed attributes give. A required key without one unambiguous identifying
/// value (a non-blank string or an integer) leaves the relationship out, and so does a target
/// that only the fallback service name would identify (every unconfigured app's "service").
pub fn relationships(rules: &RuleSet, d: &Description) -> Vec<Related> {
    let Some(rule) = rules.rules.get(d.kind as usize) else { return Vec::new() };
    let value = |key: &str| {
        if let Some((_, v)) = d.identity.iter().find(|(k, _)| k == key) {
            return Some(v.clone());
        }
        // A pooled value names a target as it would identify it (`matcher::id_value`).
        let (_, raw) = d.attributes.iter().find(|(k, _)| k == key.as_bytes())?;
        Some(crate::rules::matcher::id_value(crate::wire::read_any_value(raw).ok()?)?.text())
    };
    let mut out = Vec::new();
    'relationships: for r in &rule.relationships {
        let mut target_identity = Vec::new();
        let mut identifies = false;
        for (key, optional) in &r.identity {
            match value(key) {
                Some(v) => {
                    identifies |= !*optional && !names_no_service(IdValue::Str(v.as_bytes()));
                    target_identity.push((key.to_string(), v));
                }
                None if *optional => {}
                None => continue 'relationships,
            }
        }
        if !identifies {
            continue;
        }
        out.push(Related {
            relationship_type: r.relationship_type.to_string(),
            target_type: r.target.to_string(),
            target_identity,
        });
    }
    out
}

impl Reporter {
    /// The events due at `now`: changed entities (drained from `state`), and, once per
    /// `interval` seconds, every entity and the deletes. `LogsData` bytes, one `ResourceLogs` per
    /// partition, whose resource carries the partition's name under the partition's source (its
    /// metadata key, auth attribute or resource attribute), so that a tenant's events reach that
    /// tenant only; each entity carries its partition's name from the resource that described
    /// it. Empty when there is nothing to say.
    pub fn events(
        &mut self,
        state: &State,
        rules: &RuleSet,
        config: &EngineConfig,
        now: Stamp,
        interval: u64,
    ) -> Vec<u8> {
        let (id_attribute, ttl_seconds) = (&config.id_attribute, config.ttl_seconds);
        let full = self.last_full.is_none_or(|t| u64::from(now.saturating_sub(t)) >= interval);
        let mut described: Vec<(EntityId, Description)> = Vec::new();
        if full {
            self.last_full = Some(now);
            state.changes().drain();
            state.for_each_description(now, |id, d| described.push((id, d)));
        } else {
            for id in state.changes().drain() {
                if let Some(d) = state.describe(id, now) {
                    described.push((id, d));
                }
            }
        }
        let mut records: Vec<(PartitionName, Vec<u8>)> = Vec::new();
        let mut live = std::collections::HashSet::new();
        for (id, d) in &described {
            live.insert(*id);
            if std::str::from_utf8(&d.partition).is_err() {
                // A tenant name an OTLP string cannot hold faithfully (a header of any bytes)
                // would be written as another string, perhaps another tenant's: not told.
                continue;
            }
            let partition: PartitionName = (!d.partition.is_empty()).then(|| d.partition.as_slice().into());
            let entity_type = match d.kind {
                DECLARED => continue, // a declared entity's type is the declaration's, not kept
                k => match rules.rules.get(k as usize) {
                    Some(r) => r.entity_type.to_string(),
                    None => continue,
                },
            };
            let related = relationships(rules, d);
            let mut description = d.attributes.clone();
            description.retain(|(k, _)| k != id_attribute.as_bytes());
            let mut hex_value = Vec::new();
            crate::wire::put_str_value(&mut hex_value, &to_hex(*id));
            description.push((id_attribute.as_bytes().to_vec(), hex_value));
            description.sort();
            let digest = digest(&entity_type, &d.identity, &d.partition, &description, &related);
            let changed = self.announced.get(id).is_none_or(|a| a.digest != digest);
            self.announced.insert(
                *id,
                Announced {
                    entity_type: entity_type.clone(),
                    identity: d.identity.clone(),
                    digest,
                    last_seen: d.last_seen,
                    partition: partition.clone(),
                },
            );
            if full || changed {
                let event = Event {
                    name: EVENT_STATE,
                    entity_type: &entity_type,
                    identity: &d.identity,
                    body: EventBody::State { description: &description, relationships: &related, interval },
                };
                records.push((partition, encode(&event, now)));
            }
        }
        if full {
            let gone: Vec<EntityId> = self.announced.keys().filter(|id| !live.contains(id)).copied().collect();
            for id in gone {
                let a = self.announced.remove(&id).expect("listed");
                let expired = u64::from(now.saturating_sub(a.last_seen)) > ttl_seconds;
                let reason = if expired { "expired" } else { "evicted" };
                let event = Event {
                    name: EVENT_DELETE,
                    entity_type: &a.entity_type,
                    identity: &a.identity,
                    body: EventBody::Delete { reason },
                };
                records.push((a.partition.clone(), encode(&event, now)));
            }
        }
        if records.is_empty() {
            return Vec::new();
        }
        logs_data(records, config.partition.source_name())
    }
}

fn digest(
    entity_type: &str,
    identity: &[(String, String)],
    partition: &[u8],
    description: &[(Vec<u8>, Vec<u8>)],
    related: &[Related],
) -> u64 {
    let mut bytes = Vec::new();
    let mut put = |b: &[u8]| {
        bytes.extend_from_slice(&(b.len() as u64).to_le_bytes());
        bytes.extend_from_slice(b);
    };
    put(entity_type.as_bytes());
    put(partition);
    for (k, v) in identity {
        put(k.as_bytes());
        put(v.as_bytes());
    }
    for (k, v) in description {
        put(k);
        put(v);
    }
    for r in related {
        put(r.relationship_type.as_bytes());
        put(r.target_type.as_bytes());
        for (k, v) in &r.target_identity {
            put(k.as_bytes());
            put(v.as_bytes());
        }
    }
    xxh3_64(&bytes)
}

// ---- OTLP encoding (field numbers are opentelemetry-proto's) --------------------------------

fn unix_nanos(now: Stamp) -> u64 {
    (u64::from(now) + STAMP_EPOCH_UNIX).saturating_mul(1_000_000_000)
}

/// A `KeyValue` whose value is the encoded `AnyValue` `any`, as field `tag` of `out`
/// (`LIST_VALUES` in a `KeyValueList`, `LOG_RECORD_ATTRIBUTES` in a `LogRecord`).
fn key_value(out: &mut Vec<u8>, tag: u8, key: &str, any: &[u8]) {
    let mut kv = Vec::new();
    put_bytes_field(&mut kv, KEY_VALUE_KEY, key.as_bytes());
    put_bytes_field(&mut kv, KEY_VALUE_VALUE, any);
    put_bytes_field(out, tag, &kv);
}

/// An `AnyValue` holding a string map (`kvlist_value`).
fn string_map(pairs: &[(String, String)]) -> Vec<u8> {
    let mut list = Vec::new();
    for (k, v) in pairs {
        put_str_attr(&mut list, k.as_bytes(), v.as_bytes());
    }
    let mut any = Vec::new();
    put_bytes_field(&mut any, ANY_KVLIST, &list);
    any
}

fn string_value(s: &str) -> Vec<u8> {
    let mut any = Vec::new();
    put_bytes_field(&mut any, ANY_STRING, s.as_bytes());
    any
}

fn encode(e: &Event<'_>, now: Stamp) -> Vec<u8> {
    let mut attrs = Vec::new();
    key_value(&mut attrs, LOG_RECORD_ATTRIBUTES, "entity.type", &string_value(e.entity_type));
    key_value(&mut attrs, LOG_RECORD_ATTRIBUTES, "entity.id", &string_map(e.identity));
    match &e.body {
        EventBody::State { description, relationships, interval } => {
            let mut list = Vec::new();
            for (k, v) in description.iter() {
                let mut kv = Vec::new();
                put_bytes_field(&mut kv, KEY_VALUE_KEY, k);
                put_bytes_field(&mut kv, KEY_VALUE_VALUE, v);
                put_bytes_field(&mut list, LIST_VALUES, &kv);
            }
            let mut any = Vec::new();
            put_bytes_field(&mut any, ANY_KVLIST, &list);
            key_value(&mut attrs, LOG_RECORD_ATTRIBUTES, "entity.description", &any);
            if !relationships.is_empty() {
                let mut array = Vec::new();
                for r in relationships.iter() {
                    let mut map = Vec::new();
                    key_value(&mut map, LIST_VALUES, "relationship.type", &string_value(&r.relationship_type));
                    key_value(&mut map, LIST_VALUES, "entity.type", &string_value(&r.target_type));
                    key_value(&mut map, LIST_VALUES, "entity.id", &string_map(&r.target_identity));
                    let mut element = Vec::new();
                    put_bytes_field(&mut element, ANY_KVLIST, &map);
                    put_bytes_field(&mut array, LIST_VALUES, &element);
                }
                let mut any = Vec::new();
                put_bytes_field(&mut any, ANY_ARRAY, &array);
                key_value(&mut attrs, LOG_RECORD_ATTRIBUTES, "entity.relationships", &any);
            }
            let mut int = vec![key(ANY_INT, VARINT)];
            prost::encoding::encode_varint(*interval, &mut int);
            key_value(&mut attrs, LOG_RECORD_ATTRIBUTES, "entity.report.interval", &int);
        }
        EventBody::Delete { reason } => {
            key_value(&mut attrs, LOG_RECORD_ATTRIBUTES, "entity.delete.reason", &string_value(reason))
        }
    }
    let nanos = unix_nanos(now);
    let mut record = Vec::new();
    record.push(key(LOG_RECORD_TIME, FIXED64));
    record.extend_from_slice(&nanos.to_le_bytes());
    record.extend_from_slice(&attrs);
    record.push(key(LOG_RECORD_OBSERVED_TIME, FIXED64));
    record.extend_from_slice(&nanos.to_le_bytes());
    put_bytes_field(&mut record, LOG_RECORD_EVENT_NAME, e.name.as_bytes());
    record
}

/// `LogsData` with one `ResourceLogs` per partition: an empty resource for the unnamed one,
/// else one naming the partition under `label`.
fn logs_data(records: Vec<(PartitionName, Vec<u8>)>, label: Option<&str>) -> Vec<u8> {
    let mut by_partition: std::collections::BTreeMap<PartitionName, Vec<Vec<u8>>> = Default::default();
    for (partition, record) in records {
        by_partition.entry(partition).or_default().push(record);
    }
    let mut scope = Vec::new();
    put_bytes_field(&mut scope, SCOPE_NAME, SCOPE.as_bytes());
    let mut out = Vec::new();
    for (partition, records) in by_partition {
        let mut scope_logs = Vec::new();
        put_bytes_field(&mut scope_logs, SCOPE_LOGS_SCOPE, &scope);
        for r in &records {
            put_bytes_field(&mut scope_logs, SCOPE_LOGS_LOG_RECORDS, r);
        }
        let mut resource = Vec::new();
        if let (Some(name), Some(label)) = (&partition, label) {
            put_str_attr(&mut resource, label.as_bytes(), name); // UTF-8: others are not told
        }
        let mut resource_logs = Vec::new();
        put_bytes_field(&mut resource_logs, ENTRY_RESOURCE, &resource);
        put_bytes_field(&mut resource_logs, RESOURCE_LOGS_SCOPE_LOGS, &scope_logs);
        put_bytes_field(&mut out, DATA_ENTRIES, &resource_logs);
    }
    out
}
