//! The engine's configuration and the one rule schema shared by built-in and user rules.
//!
//! Configuration crosses the C boundary as JSON. Parsing is strict: an unknown key is an error,
//! and every error names the field (`rules[2].identity[0]`) or the rule (`rule "my_rule"`).

use serde::{Deserialize, Serialize};

/// Engine configuration. Every field has a default, so `{}` is a valid configuration.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct EngineConfig {
    /// Attribute that receives the entity id.
    pub id_attribute: String,
    /// Attribute that receives the entity type.
    pub type_attribute: String,
    /// Attribute that receives the display name; empty disables it.
    pub name_attribute: String,
    /// Attribute that receives the name of the rule that decided the entity (`entity_ref` for a
    /// declared entity reference), so that decisions can be queried in the backend; empty (the
    /// default) disables it.
    pub rule_attribute: String,
    /// Attribute that carries a resource's route key through a fleet: the routers (`mode: route`)
    /// write it, the load_balancing exporter routes by it, and the collectors behind read it.
    pub route_attribute: String,
    /// What the engine does with each resource: everything (`enrich`), or one stage of a fleet.
    pub mode: Mode,
    /// Declare the matched entity on each resource as an OTLP entity reference (type, identifying
    /// keys, descriptive keys), for components that read `Resource.entity_refs`; off by default.
    pub entity_refs: bool,
    pub pooling: PoolingConfig,
    /// Names of built-in rules that are not used.
    pub disabled_rules: Vec<String>,
    /// User rules, tried before the built-in rules, in this order.
    pub rules: Vec<RuleSpec>,
    /// Most entities (and, separately, most links) kept in memory; least recently seen go first.
    pub max_entities: u64,
    /// Entities and links not seen for this long are forgotten. Written as a duration (`1h`,
    /// `90m`, `1h30m`), held in whole seconds (rounded up).
    #[serde(rename = "ttl", deserialize_with = "duration::deserialize", serialize_with = "duration::serialize")]
    pub ttl_seconds: u64,
    /// In `mode: identify`, how long after it starts a collector follows no link: time for every
    /// source to report once, so that a new replica, whose route keys moved to it from others,
    /// has seen every claimant of a name before it joins anything by it. A duration, at most the
    /// TTL; ignored in the other modes.
    #[serde(rename = "warmup", deserialize_with = "duration::deserialize", serialize_with = "duration::serialize")]
    pub warmup_seconds: u64,
    /// Where a batch's tenant comes from; unset, all data is one partition.
    pub partition: PartitionConfig,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            id_attribute: "resource.id".into(),
            type_attribute: "resource.type".into(),
            name_attribute: "resource.name".into(),
            rule_attribute: String::new(),
            route_attribute: "resource.route".into(),
            mode: Mode::Enrich,
            entity_refs: false,
            pooling: PoolingConfig::default(),
            disabled_rules: Vec::new(),
            rules: Vec::new(),
            max_entities: 100_000,
            ttl_seconds: 3600,
            warmup_seconds: 60,
            partition: PartitionConfig::default(),
        }
    }
}

/// What an engine does with each resource. One collector enriches; a fleet splits the work in
/// three stages so that it answers as one collector does (README, Scaling): routers write a route
/// key, a pure function of the resource, by which every resource that may make, follow or contest
/// a link meets on one collector, which identifies; the identified resources then meet by their
/// id on the collector that pools.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Identify, link, pool and mark: the whole decision, on all the data.
    #[default]
    Enrich,
    /// As `Enrich`; the processor keeps the answers from the data and only reports them.
    Observe,
    /// Write only the route key (`route_attribute`): no id, no state.
    Route,
    /// Write the id and type, from links learnt among the resources routed here; pool nothing.
    Identify,
    /// Pool each resource into the entity whose id and type the identify stage wrote, and mark
    /// it (name, derived values, pooled attributes) as one collector would.
    Pool,
}

impl EngineConfig {
    /// The attributes the engine writes, in the order the engine's answers index them: id, type,
    /// name, rule and route (name and rule may be empty: not written). Resources' own values of
    /// them are ignored for identity and pooling.
    pub fn output_attributes(&self) -> impl Iterator<Item = &String> {
        [&self.id_attribute, &self.type_attribute, &self.name_attribute, &self.rule_attribute, &self.route_attribute]
            .into_iter()
    }

    /// The checks of single values and of values against each other (rules are checked as they
    /// compile, `rules::compile`).
    pub(crate) fn check_ranges(&self) -> Result<(), ConfigError> {
        let c = self;
        if c.id_attribute.is_empty() {
            return Err(ConfigError("id_attribute must not be empty".into()));
        }
        if c.type_attribute.is_empty() {
            return Err(ConfigError("type_attribute must not be empty".into()));
        }
        if c.route_attribute.is_empty() {
            return Err(ConfigError("route_attribute must not be empty".into()));
        }
        let set: Vec<&String> = c.output_attributes().filter(|k| !k.is_empty()).collect();
        if (1..set.len()).any(|i| set[..i].contains(&set[i])) {
            return Err(ConfigError(
                "id_attribute, type_attribute, name_attribute, rule_attribute and route_attribute must differ".into(),
            ));
        }
        if c.max_entities == 0 || c.max_entities > u32::MAX as u64 {
            return Err(ConfigError(format!(
                "max_entities must be between 1 and {}, got {}",
                u32::MAX,
                c.max_entities
            )));
        }
        if c.ttl_seconds == 0 || c.ttl_seconds > 10 * 365 * 86_400 {
            return Err(ConfigError(format!("ttl must be between 1s and 87600h, got {}s", c.ttl_seconds)));
        }
        // Only an identify stage warms up (links it would follow must outlive the warm-up).
        if c.mode == Mode::Identify && c.warmup_seconds > c.ttl_seconds {
            return Err(ConfigError(format!(
                "warmup (default 1m) must be at most the ttl ({}s) in mode identify, got {}s",
                c.ttl_seconds, c.warmup_seconds
            )));
        }
        Ok(())
    }
}

/// Partitions (tenants): entities, links, pooled values and cached answers of one partition
/// are never seen by another. At most one source is set. `metadata` and `auth` are read by the
/// processor from the request's client information and passed with the batch; `attribute` is
/// read by the engine from each resource.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct PartitionConfig {
    /// A client metadata key (a request header, from a receiver with `include_metadata: true`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<String>,
    /// An attribute of the authenticated client (set by the receiver's authenticator).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth: Option<String>,
    /// A resource attribute (e.g. `k8s.cluster.name`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attribute: Option<String>,
    /// The partition of data whose partition is absent or empty. Such data is processed, in
    /// this partition, never dropped; the empty default is the partition an unpartitioned
    /// processor uses, whose ids carry no partition.
    pub default: String,
    /// Most partitions processed with state at once. A partition seen within the TTL keeps its
    /// place; one beyond the bound is identified by what its resources carry, with nothing
    /// stored, pooled or linked, until a partition quiet for the TTL frees a place. So a client
    /// that invents tenants cannot displace the tenants already served.
    pub max_partitions: u64,
}

/// The most `partition.max_partitions` may be: partitions are counted in a table of this size.
pub const MAX_PARTITIONS: u64 = 1 << 16;

impl Default for PartitionConfig {
    fn default() -> Self {
        PartitionConfig { metadata: None, auth: None, attribute: None, default: String::new(), max_partitions: 1000 }
    }
}

/// Where a partition comes from (the one source `PartitionConfig` names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartitionSource<'a> {
    /// No partitioning: one partition for everything.
    None,
    /// Passed by the caller with each batch (`metadata` or `auth`).
    Batch,
    /// The named resource attribute.
    Attribute(&'a str),
}

impl PartitionConfig {
    /// The name of the partition's source: the metadata key, auth attribute or resource
    /// attribute that names a tenant.
    pub fn source_name(&self) -> Option<&str> {
        self.metadata.as_deref().or(self.auth.as_deref()).or(self.attribute.as_deref())
    }

    pub fn source(&self) -> PartitionSource<'_> {
        match (&self.metadata, &self.auth, &self.attribute) {
            (None, None, None) => PartitionSource::None,
            (_, _, Some(key)) => PartitionSource::Attribute(key),
            _ => PartitionSource::Batch,
        }
    }

    /// Exactly one source, not empty; a default only with a source; a bound in range.
    pub fn check(&self) -> Result<(), ConfigError> {
        if !(1..=MAX_PARTITIONS).contains(&self.max_partitions) {
            return Err(ConfigError(format!(
                "partition.max_partitions: it must be between 1 and {MAX_PARTITIONS}, not {}",
                self.max_partitions
            )));
        }
        let set: Vec<(&str, &String)> =
            [("metadata", &self.metadata), ("auth", &self.auth), ("attribute", &self.attribute)]
                .into_iter()
                .filter_map(|(name, v)| Some((name, v.as_ref()?)))
                .collect();
        match set.as_slice() {
            [] if !self.default.is_empty() => {
                Err(ConfigError("partition: default needs one of metadata, auth or attribute".into()))
            }
            [] => Ok(()),
            [(name, value)] if value.is_empty() => Err(ConfigError(format!("partition.{name}: it must not be empty"))),
            [_] => Ok(()),
            _ => Err(ConfigError(format!(
                "partition: set exactly one of metadata, auth or attribute, not {}",
                set.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(" and ")
            ))),
        }
    }
}

/// Attribute pooling: filling sparse resources with what richer sources of the entity reported.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct PoolingConfig {
    pub enabled: bool,
    /// Key patterns pooled for every rule in addition to the rule's own scope.
    pub include: Vec<String>,
    /// Key patterns never pooled, whatever the rule says.
    pub exclude: Vec<String>,
}

impl Default for PoolingConfig {
    fn default() -> Self {
        PoolingConfig { enabled: true, include: Vec::new(), exclude: Vec::new() }
    }
}

/// One equality rule. Built-in rules (`rules/builtin.json`) and user rules use this schema.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// Unique rule name (`[a-z0-9_]+`), used by `disabled_rules` and in messages.
    pub name: String,
    /// Entity type written to the type attribute, e.g. `k8s.pod`.
    #[serde(rename = "type")]
    pub entity_type: String,
    /// All conditions must hold for the rule to apply.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub when: Vec<ConditionSpec>,
    /// The rule does not apply when the resource carries any of these keys.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unless_present: Vec<String>,
    /// Makes the rule coarse: it claims a resource only when every object the resource's
    /// attributes describe is its own entity, one of these entity types (those it is part of, or
    /// that are the same thing seen from another side: `k8s.cluster` and `host` for a node), or
    /// one that contains everything (`objects::AMBIENT`). Which object an attribute describes
    /// comes from the semantic conventions' entity registry (`rules/entities.json`), so a key
    /// nobody listed (an event's `k8s.object.uid`) still keeps a node rule from swallowing it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alongside: Option<Vec<String>>,
    /// Identifying values computed from what a sparse source does carry.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub derive: Vec<DerivationSpec>,
    /// Ordered identity alternatives. Each is a list of key groups: `a` (required),
    /// `a|b` (required, first present spelling, identified as `a`), `a?` or `a|b?` (qualifier:
    /// added to the identity only when the resource carries it).
    pub identity: Vec<Vec<String>>,
    /// Identity keys whose values are unique only within other keys' values (`host.name` within
    /// `cloud.account.id`: a private address's name is reused in every account). An alternative
    /// with such a key also takes its scope keys, as qualifiers, when the resource carries them;
    /// unlike a qualifier written `a?`, a resource that carries none of them is not a scope of its
    /// own but joins the one scope that claims its value, and none when two do.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub scoped_by: std::collections::BTreeMap<String, Vec<String>>,
    /// Keys for the display name, first present wins.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub display_name: Vec<String>,
    /// Key patterns (`key`, `prefix.*`, `*`) that may be pooled onto resources of this entity.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pool: Vec<String>,
    /// Entity types that contain this one many-to-one (a container is in exactly one pod). A
    /// resource matched by this rule takes the container's id once both were seen on one resource.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub promote_to: Vec<String>,
    /// Entity types that resources declare (`Resource.entity_refs`) for this rule's entity under
    /// another name (the k8scluster receiver's `k8s.container` is the `container` rule's entity).
    /// Such a declaration is decided by the rules, exactly as the undeclared resource would be,
    /// so that one entity has one id whichever source reports it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entity_ref_types: Vec<String>,
    /// Values that identify nothing, per key, as a regular expression matched against the whole
    /// value: such a value counts as absent for identity. Added to the table every rule uses
    /// (`rules/unidentifying_values.json`: wildcard and loopback addresses in any key, `localhost`
    /// as a `host.name`, ...), which a rule cannot switch off.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub unidentifying_values: std::collections::BTreeMap<String, String>,
    /// For entities made of several containers (a pod, an ECS task): which keys name the
    /// container a resource speaks for, and which pooled keys belong to one container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub containers: Option<ContainersSpec>,
    /// Relationships of this rule's entity to other entities, published in entity events
    /// (placed, as the specification asks, on the shorter-lived entity).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub relationships: Vec<RelationshipSpec>,
}

/// A relationship (`scheduled_on`, `part_of`, `runs_on`, ...) to an entity of type `target`,
/// identified by `identity`: keys whose values the entity's identity or its agreed pooled
/// attributes give (`key?`: added when present). Emitted only when every required key has one
/// unambiguous value.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RelationshipSpec {
    #[serde(rename = "type")]
    pub relationship_type: String,
    pub target: String,
    pub identity: Vec<String>,
}

/// Container scope of a multi-container entity. Values of `scoped` keys are pooled per
/// container and fill only resources that name the same container; `shared_when_agreed` ones
/// (a subset) may also fill a resource that names no container, when every source agrees.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ContainersSpec {
    /// Keys that name a container within the entity. A resource speaks for the container named
    /// by each of these it carries.
    pub named_by: Vec<String>,
    /// Key patterns whose values belong to one container.
    pub scoped: Vec<String>,
    /// Key patterns among `scoped` that may also fill resources naming no container.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shared_when_agreed: Vec<String>,
}

/// A condition on one attribute (`key`, or `a|b`: the first present spelling). Exactly one of
/// `equals`, `one_of`, `prefix`, `present`, `absent` is set. String tests also accept a
/// one-element string array.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ConditionSpec {
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub one_of: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub present: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub absent: Option<bool>,
    /// The condition also holds when the key is absent.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub or_absent: bool,
}

/// Computes `attribute` from `from` when the resource lacks it: the value of `from` (`key`, or
/// `a|b`: the first present spelling; a string, or the only string of a one-element array),
/// with `strip_prefix` removed (the value must start with it, and something must remain), or
/// the first capture group of `capture` (a regular expression that must match the whole value).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DerivationSpec {
    pub attribute: String,
    pub from: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strip_prefix: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capture: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub when: Vec<ConditionSpec>,
}

/// Durations as the Collector's configuration writes them (Go's syntax: `1h`, `90m`, `1h30m`,
/// `500ms`), in whole seconds rounded up.
mod duration {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn parse(text: &str) -> Option<u64> {
        let mut rest = text.trim();
        if rest.is_empty() {
            return None;
        }
        if rest == "0" {
            return Some(0);
        }
        let mut nanos: f64 = 0.0;
        while !rest.is_empty() {
            let number_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
            let number: f64 = rest[..number_len].parse().ok()?;
            rest = &rest[number_len..];
            let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
            let scale = match &rest[..unit_len] {
                "h" => 3.6e12,
                "m" => 6e10,
                "s" => 1e9,
                "ms" => 1e6,
                "us" | "µs" => 1e3,
                "ns" => 1.0,
                _ => return None,
            };
            rest = &rest[unit_len..];
            nanos += number * scale;
        }
        (nanos.is_finite() && nanos < 1e20).then(|| (nanos / 1e9).ceil() as u64)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        let text = match serde_json::Value::deserialize(d)? {
            serde_json::Value::String(text) => text,
            serde_json::Value::Number(n) => {
                return Err(serde::de::Error::custom(format!(
                    "{n} is not a duration: a bare number has no unit; write one such as 1h, 90m or 1h30m"
                )));
            }
            other => {
                return Err(serde::de::Error::custom(format!(
                    "{other} is not a duration: write one such as 1h, 90m or 1h30m"
                )));
            }
        };
        parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!("{text:?} is not a duration: write one such as 1h, 90m or 1h30m"))
        })
    }

    pub fn serialize<S: Serializer>(seconds: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{seconds}s"))
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn go_durations_parse_to_whole_seconds() {
            for (text, seconds) in
                [("1h", 3600), ("10m", 600), ("1h30m", 5400), ("1.5h", 5400), ("90s", 90), ("1500ms", 2), ("0", 0)]
            {
                assert_eq!(super::parse(text), Some(seconds), "{text}");
            }
            for bad in ["", "10", "1d", "h", "-1h", "1h-", "1e400h"] {
                assert_eq!(super::parse(bad), None, "{bad}");
            }
        }
    }
}

/// A configuration the engine refuses, with a message that names what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

/// Parses a JSON configuration; the error names the offending field path.
pub fn parse_config(json: &[u8]) -> Result<EngineConfig, ConfigError> {
    let text = std::str::from_utf8(json)
        .map_err(|e| ConfigError(format!("configuration is not valid UTF-8 (at byte {})", e.valid_up_to())))?;
    if !text.trim_start().starts_with('{') {
        return Err(ConfigError("configuration: it must be a map of keys, like {}".into()));
    }
    let de = &mut serde_json::Deserializer::from_str(text);
    let config: EngineConfig = serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        ConfigError(in_user_terms(&path, &e.into_inner().to_string()))
    })?;
    config.partition.check()?;
    Ok(config)
}

/// A deserialization error as the user wrote the configuration (YAML, through the collector):
/// the key's path first, then the problem in YAML's words, never the engine's types or the
/// position in the JSON the processor made of the user's YAML.
fn in_user_terms(path: &str, serde: &str) -> String {
    // serde_json ends its messages with the position in the JSON: meaningless to the user.
    let message = serde.rfind(" at line ").map_or(serde, |at| &serde[..at]);
    let key = if path == "." { "configuration" } else { path };
    let parent = match path.rfind(['.', '[']) {
        Some(at) if path != "." => &path[..at],
        _ => "the processor",
    };
    let quoted = |list: &str| list.replace('`', "");
    // serde's "`x`, expected one of `a`, `b`" (or "expected `a`" for one): what was written, and
    // the accepted choices.
    let choices = |rest: &'_ str| -> (String, Option<String>) {
        match rest.split_once(", expected one of ").or_else(|| rest.split_once(", expected ")) {
            Some((written, list)) => (quoted(written), Some(quoted(list))),
            None => (quoted(rest), None),
        }
    };
    if let Some(rest) = message.strip_prefix("unknown field ") {
        return match choices(rest).1 {
            Some(list) => format!("{key}: unknown key; {parent} takes {list}"),
            None => format!("{key}: unknown key; {parent} takes no keys"),
        };
    }
    if let Some(rest) = message.strip_prefix("unknown variant ") {
        let (value, list) = choices(rest);
        return format!("{key}: {value} is not one of {}", list.unwrap_or_default());
    }
    if let Some(field) = message.strip_prefix("missing field ") {
        return format!("{key}: the key {} is required", quoted(field));
    }
    if let Some(rest) = message.strip_prefix("invalid type: ")
        && let Some((got, want)) = rest.split_once(", expected ")
    {
        let got = got_in_user_terms(got);
        let want = want_in_user_terms(want);
        let mut out = format!("{key}: expected {want}, got {got}");
        // `identity: [app.id]` where `[[app.id]]` is meant: the commonest slip in a rule.
        if want == "a list" && key.contains(".identity[") && got.starts_with("the string ") {
            let value = got.trim_start_matches("the string ").trim_matches('"');
            out.push_str(&format!("; identity is a list of alternatives, each a list of keys: write [[{value}]]"));
        }
        return out;
    }
    format!("{key}: {message}")
}

/// serde's name of what the user wrote (`integer `3600``, `string "x"`), in YAML's words.
fn got_in_user_terms(got: &str) -> String {
    let unquoted = |s: &str| s.trim_matches('`').to_string();
    if let Some(v) = got.strip_prefix("integer ").or_else(|| got.strip_prefix("floating point ")) {
        return format!("the number {}", unquoted(v));
    }
    if let Some(v) = got.strip_prefix("boolean ") {
        return unquoted(v);
    }
    if let Some(v) = got.strip_prefix("string ") {
        return format!("the string {v}");
    }
    match got {
        "sequence" => "a list".into(),
        "map" => "a map".into(),
        "unit value" | "null" => "nothing".into(),
        other => other.into(),
    }
}

/// serde's name of the type a key takes (`u64`, `struct PoolingConfig`), in YAML's words.
fn want_in_user_terms(want: &str) -> String {
    match want {
        "u8" | "u16" | "u32" | "u64" | "usize" | "i8" | "i16" | "i32" | "i64" | "isize" => "a whole number".into(),
        "f32" | "f64" => "a number".into(),
        "a sequence" => "a list".into(),
        "a boolean" => "true or false".into(),
        "a map" | "map" => "a map of keys".into(),
        w if w.starts_with("struct ") => "a map of keys".into(),
        w if w.starts_with("enum ") => "one of its values".into(),
        other => other.into(),
    }
}

/// The built-in rules, embedded in the library, in precedence order.
/// Values that identify nothing, for every rule: per key, a regular expression matched against
/// the whole value; the key `*` applies to every key.
pub fn unidentifying_values() -> &'static std::collections::BTreeMap<String, String> {
    static TABLE: once_cell::sync::Lazy<std::collections::BTreeMap<String, String>> =
        once_cell::sync::Lazy::new(|| {
            let mut table: std::collections::BTreeMap<String, serde_json::Value> =
                serde_json::from_str(include_str!("../rules/unidentifying_values.json"))
                    .expect("rules/unidentifying_values.json is valid (tested)");
            table.retain(|k, _| !k.starts_with('_'));
            table.into_iter().map(|(k, v)| (k, v.as_str().expect("a pattern is a string").to_owned())).collect()
        });
    &TABLE
}

pub fn builtin_rules() -> &'static [RuleSpec] {
    static RULES: once_cell::sync::Lazy<Vec<RuleSpec>> = once_cell::sync::Lazy::new(|| {
        serde_json::from_str(include_str!("../rules/builtin.json")).expect("rules/builtin.json is valid (tested)")
    });
    &RULES
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_object_is_the_default() {
        assert_eq!(parse_config(b"{}").unwrap(), EngineConfig::default());
    }

    #[test]
    fn unknown_key_names_its_path() {
        let err = parse_config(br#"{"rules":[{"name":"a","type":"t","identity":[["k"]],"colour":1}]}"#).unwrap_err();
        assert!(err.0.contains("rules[0]"), "{}", err.0);
        assert!(err.0.contains("colour"), "{}", err.0);
        let err = parse_config(br#"{"pooling":{"enable":true}}"#).unwrap_err();
        assert!(err.0.contains("pooling") && err.0.contains("enable"), "{}", err.0);
    }

    #[test]
    fn invalid_utf8_and_bad_json_are_errors() {
        assert!(parse_config(b"{\"id_attribute\":\"\xff\"}").unwrap_err().0.contains("UTF-8"));
        assert!(parse_config(b"{").is_err());
        assert!(parse_config(b"").is_err());
        assert!(parse_config(br#"{"max_entities":-1}"#).unwrap_err().0.contains("max_entities"));
        assert!(parse_config(br#"{"ttl":"soon"}"#).unwrap_err().0.contains("ttl"));
        assert!(parse_config(br#"{"ttl":3600}"#).unwrap_err().0.contains("ttl"));
    }

    #[test]
    fn partition_takes_exactly_one_source() {
        let source = |json: &str| parse_config(json.as_bytes()).map(|c| c.partition.source() == PartitionSource::Batch);
        assert_eq!(source(r#"{"partition":{"metadata":"x-scope-orgid"}}"#), Ok(true));
        assert_eq!(source(r#"{"partition":{"auth":"subject","default":"none"}}"#), Ok(true));
        let attribute = parse_config(br#"{"partition":{"attribute":"k8s.cluster.name"}}"#).unwrap();
        assert_eq!(attribute.partition.source(), PartitionSource::Attribute("k8s.cluster.name"));
        assert_eq!(parse_config(b"{}").unwrap().partition.source(), PartitionSource::None);
        for (bad, says) in [
            (
                r#"{"partition":{"metadata":"a","auth":"b"}}"#,
                "exactly one of metadata, auth or attribute, not metadata and auth",
            ),
            (r#"{"partition":{"default":"x"}}"#, "default needs one of"),
            (r#"{"partition":{"attribute":""}}"#, "partition.attribute: it must not be empty"),
            (r#"{"partition":{"metadata":"x","max_partitions":0}}"#, "partition.max_partitions: it must be between 1"),
            (r#"{"partition":{"header":"x"}}"#, "header"),
        ] {
            let err = parse_config(bad.as_bytes()).unwrap_err().0;
            assert!(err.contains(says), "{bad}: {err}");
        }
    }

    #[test]
    fn builtin_rules_parse() {
        assert!(builtin_rules().len() >= 30);
    }
}
