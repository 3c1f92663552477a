//! Compiles rule specs (built-in and user, one schema) into the form the matcher evaluates, and
//! validates them: a user rule is checked exactly as strictly as a built-in one.

use crate::config::{
    ConditionSpec, ConfigError, ContainersSpec, DerivationSpec, EngineConfig, RelationshipSpec, RuleSpec, builtin_rules,
};
use crate::rules::index::RuleIndex;
use crate::rules::keys::{KeyId, RuleKeys};
use crate::rules::scope::{Pattern, Scope, pattern_kind};
use crate::rules::{
    Alternative, CompiledRule, Condition, ContainerScope, Derivation, Group, Op, Relationship, RuleSet,
};
use regex::Regex;
use std::collections::HashMap;

impl RuleSet {
    /// Compiles the user rules followed by the enabled built-in rules.
    pub fn compile(config: &EngineConfig) -> Result<RuleSet, ConfigError> {
        config.check_ranges()?;
        for (i, p) in config.pooling.include.iter().enumerate() {
            check_pattern(p).map_err(|m| ConfigError(format!("pooling.include[{i}]: {m}")))?;
        }
        for (i, p) in config.pooling.exclude.iter().enumerate() {
            check_pattern(p).map_err(|m| ConfigError(format!("pooling.exclude[{i}]: {m}")))?;
        }
        let builtins = builtin_rules();
        for (i, name) in config.disabled_rules.iter().enumerate() {
            if !builtins.iter().any(|r| &r.name == name) {
                return Err(ConfigError(format!(
                    "disabled_rules[{i}]: there is no built-in rule named {name:?} (the README lists them)"
                )));
            }
        }
        let mut specs: Vec<(&RuleSpec, String, bool)> = Vec::new();
        for (i, r) in config.rules.iter().enumerate() {
            specs.push((r, format!("rule {:?} (rules[{i}])", r.name), false));
        }
        for r in builtins.iter().filter(|r| !config.disabled_rules.contains(&r.name)) {
            specs.push((r, format!("built-in rule {:?}", r.name), true));
        }

        let mut seen: HashMap<&str, &str> = HashMap::new();
        for (spec, label, _) in &specs {
            if let Some(other) = seen.insert(spec.name.as_str(), label.as_str()) {
                return Err(ConfigError(format!(
                    "{label}: the name is already used by {other}; give it another name, or disable the built-in rule"
                )));
            }
        }
        let types: Vec<&str> = specs.iter().map(|(s, _, _)| s.entity_type.as_str()).collect();

        let pooling = config.pooling.enabled;
        let mut keys = RuleKeys::default();
        let mut rules = Vec::with_capacity(specs.len());
        for (spec, label, builtin) in &specs {
            let rule =
                compile_rule(spec, &mut keys, config, &types).map_err(|m| ConfigError(format!("{label}: {m}")))?;
            rules.push(CompiledRule { builtin: *builtin, ..rule });
        }
        for rule in &mut rules {
            rule.contained = specs
                .iter()
                .enumerate()
                .filter(|(_, (s, _, _))| s.promote_to.iter().any(|t| **t == *rule.entity_type))
                .map(|(j, _)| j)
                .collect();
        }
        for rule in &mut rules {
            rule.route = route_of(&rule.identity);
        }
        for i in 0..rules.len() {
            let same_type = rules.iter().filter(|o| o.entity_type == rules[i].entity_type);
            rules[i].links_in_fleet =
                !rules[i].route.is_empty() && same_type.into_iter().all(|o| o.route == rules[i].route);
        }
        if !pooling {
            for r in &mut rules {
                r.scope = Scope::default();
            }
        }
        let decided_ref_types = rules
            .iter()
            .flat_map(|r| std::iter::once(&r.entity_type).chain(&r.entity_ref_types))
            .map(|t| t.as_bytes().into())
            .collect();
        check_output_attributes_are_not_read(config, &keys)?;
        let mut unidentifying_any = None;
        let mut unidentifying = Vec::new();
        for (k, re) in crate::config::unidentifying_values() {
            let what = format!("rules/unidentifying_values.json[{k:?}]");
            let re = whole_value_regex(&what, re).map_err(ConfigError)?;
            if k == "*" {
                unidentifying_any = Some(re);
            } else {
                unidentifying.push((keys.intern(k)?, re));
            }
        }
        let engine_keys = config
            .output_attributes()
            .chain(&config.partition.attribute)
            .filter(|k| !k.is_empty())
            .map(|k| k.as_bytes().into())
            .collect();
        let triggers: Vec<_> = rules.iter().map(CompiledRule::triggers).collect();
        let index = RuleIndex::new(&triggers, keys.len());
        Ok(RuleSet {
            index,
            rules,
            keys,
            global_exclude: Scope::new(&[], &[], &config.pooling.exclude),
            pooling,
            decided_ref_types,
            unidentifying_any,
            unidentifying,
            engine_keys,
        })
    }
}

/// The keys a fleet's routers route a rule's resources by: the required keys of every identity
/// alternative a link can lead from. Links lead from the later alternatives to the first, and
/// from an alternative's bare name (without its `scoped_by` scopes) to its scoped name, so the
/// first alternative counts too when it has scopes. Every resource that makes a link, or follows
/// one, carries these keys with the values of its entity: routed by them, all of them meet on
/// one collector, and so do two entities or two scopes that claim one name.
/// Empty when no link can lead anywhere (one alternative without scopes: each resource routes by
/// its own id) or those alternatives share no key.
fn route_of(identity: &[Alternative]) -> Vec<Group> {
    let skip = usize::from(!identity.first().is_some_and(Alternative::has_scopes));
    let mut linked = identity.iter().skip(skip).map(|a| match a {
        Alternative::Keys(groups) => Some(groups.iter().filter(|g| !g.optional).collect::<Vec<_>>()),
        Alternative::AllAttributes => None,
    });
    let Some(Some(first)) = linked.next() else {
        return Vec::new();
    };
    let mut route: Vec<Group> = first.into_iter().cloned().collect();
    for other in linked {
        let Some(other) = other else {
            return Vec::new();
        };
        route.retain(|g| other.contains(&g));
    }
    route
}

/// The processor writes its output attributes and ignores them when matching, so one that a rule
/// reads (`id_attribute: k8s.pod.uid`) would overwrite an identity and stop identifying by it.
fn check_output_attributes_are_not_read(c: &EngineConfig, keys: &RuleKeys) -> Result<(), ConfigError> {
    let d = EngineConfig::default();
    let written = [
        ("id_attribute", &c.id_attribute, &d.id_attribute),
        ("type_attribute", &c.type_attribute, &d.type_attribute),
        ("name_attribute", &c.name_attribute, &d.name_attribute),
        ("rule_attribute", &c.rule_attribute, &d.rule_attribute),
        ("route_attribute", &c.route_attribute, &d.route_attribute),
    ];
    for (what, key, default) in written {
        if !key.is_empty() && keys.get(key.as_bytes()).is_some() {
            let hint = if default.is_empty() { String::new() } else { format!(" (the default is {default:?})") };
            return Err(ConfigError(format!(
                "{what} {key:?} is an attribute the rules read (to identify, in a condition or a derivation); \
                 the processor would overwrite it and ignore it when matching: choose another name{hint}"
            )));
        }
    }
    Ok(())
}

fn check_key(what: &str, key: &str) -> Result<(), String> {
    if key.is_empty() {
        return Err(format!("{what}: an attribute key must not be empty"));
    }
    if key.contains(['|', '?', '*']) || key.trim() != key {
        return Err(format!(
            "{what}: {key:?} is not an attribute key ('|', '?', '*' and surrounding spaces are not allowed)"
        ));
    }
    Ok(())
}

/// Compiles a rule's regular expression so that it must match a whole value.
fn whole_value_regex(what: &str, re: &str) -> Result<Regex, String> {
    Regex::new(&format!("^(?:{re})$")).map_err(|e| format!("{what}: {re:?} is not a valid regular expression: {e}"))
}

/// `key` or `a|b|...`: the spellings of one key, first present wins.
fn compile_spellings(what: &str, spec: &str, keys: &mut RuleKeys) -> Result<Vec<KeyId>, String> {
    spec.split('|')
        .map(|k| {
            check_key(what, k)?;
            keys.intern(k).map_err(|e| e.0)
        })
        .collect()
}

fn compile_containers(
    c: &ContainersSpec,
    keys: &mut RuleKeys,
    config: &EngineConfig,
) -> Result<ContainerScope, String> {
    if c.named_by.is_empty() {
        return Err("containers.named_by needs at least one key".into());
    }
    let mut named_by = Vec::new();
    for (i, k) in c.named_by.iter().enumerate() {
        named_by.push(compile_spellings(&format!("containers.named_by[{i}]"), k, keys)?);
    }
    for (what, patterns) in [("scoped", &c.scoped), ("shared_when_agreed", &c.shared_when_agreed)] {
        for (i, p) in patterns.iter().enumerate() {
            check_pattern(p).map_err(|m| format!("containers.{what}[{i}]: {m}"))?;
        }
    }
    if c.scoped.is_empty() {
        return Err("containers.scoped needs at least one key pattern".into());
    }
    Ok(ContainerScope {
        named_by,
        scoped: Scope::new(&c.scoped, &[], &config.pooling.exclude),
        shared_when_agreed: Scope::new(&c.shared_when_agreed, &[], &[]),
    })
}

fn check_pattern(p: &str) -> Result<(), String> {
    match pattern_kind(p) {
        Pattern::All => Ok(()),
        Pattern::Prefix(pre) if pre.ends_with('.') && pre.len() > 1 => check_key("pattern", pre.trim_end_matches('.')),
        Pattern::Prefix(_) => {
            Err(format!("{p:?}: a wildcard must be the whole pattern or follow a dot, as in \"k8s.pod.*\""))
        }
        Pattern::Exact(k) => check_key("pattern", k),
    }
}

fn compile_rule(
    spec: &RuleSpec,
    keys: &mut RuleKeys,
    config: &EngineConfig,
    types: &[&str],
) -> Result<CompiledRule, String> {
    if spec.name.is_empty() || !spec.name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
        return Err("name must be non-empty lowercase letters, digits and underscores".into());
    }
    if spec.entity_type.is_empty() || spec.entity_type.contains(char::is_whitespace) {
        return Err(format!("type {:?} must be non-empty and contain no spaces", spec.entity_type));
    }
    let when = compile_conditions("when", &spec.when, keys)?;
    let mut unless_present = Vec::new();
    for (i, k) in spec.unless_present.iter().enumerate() {
        check_key(&format!("unless_present[{i}]"), k)?;
        unless_present.push(keys.intern(k).map_err(|e| e.0)?);
    }
    let derive = spec
        .derive
        .iter()
        .enumerate()
        .map(|(i, d)| compile_derivation(d, keys).map_err(|m| format!("derive[{i}]: {m}")))
        .collect::<Result<Vec<_>, _>>()?;
    if spec.identity.is_empty() {
        return Err("identity needs at least one alternative".into());
    }
    let mut identity = Vec::new();
    for (i, alt) in spec.identity.iter().enumerate() {
        identity.push(compile_alternative(alt, keys).map_err(|m| format!("identity[{i}]: {m}"))?);
    }
    for (k, scopes) in &spec.scoped_by {
        let what = format!("scoped_by[{k:?}]");
        check_key(&what, k)?;
        // A scope qualifies a required key, named as the alternative names it (its first spelling).
        let required = |g: &Group| !g.optional && *g.canonical == **k;
        if !identity.iter().any(|a| matches!(a, Alternative::Keys(groups) if groups.iter().any(required))) {
            return Err(format!("{what}: no identity alternative has the key {k:?} (required, as its first spelling)"));
        }
        if scopes.is_empty() {
            return Err(format!("{what}: name at least one key that {k:?} is unique within"));
        }
        for (i, scope) in scopes.iter().enumerate() {
            check_key(&format!("{what}[{i}]"), scope)?;
        }
    }
    for (i, alternative) in identity.iter_mut().enumerate() {
        add_scopes(alternative, &spec.scoped_by, keys).map_err(|m| format!("identity[{i}]: {m}"))?;
    }
    if identity.iter().any(|a| matches!(a, Alternative::AllAttributes)) && identity.len() > 1 {
        return Err("identity [\"*\"] (every attribute) must be the only alternative".into());
    }
    let mut display_name = Vec::new();
    for (i, k) in spec.display_name.iter().enumerate() {
        check_key(&format!("display_name[{i}]"), k)?;
        display_name.push(keys.intern(k).map_err(|e| e.0)?);
    }
    for (i, p) in spec.pool.iter().enumerate() {
        check_pattern(p).map_err(|m| format!("pool[{i}]: {m}"))?;
    }
    for (i, t) in spec.promote_to.iter().enumerate() {
        if *t == spec.entity_type {
            return Err(format!("promote_to[{i}]: an entity cannot be promoted to its own type"));
        }
        if !types.contains(&t.as_str()) {
            return Err(format!("promote_to[{i}]: no rule in use has type {t:?}"));
        }
    }
    let scope = Scope::new(&spec.pool, &config.pooling.include, &config.pooling.exclude);
    for (i, t) in spec.entity_ref_types.iter().enumerate() {
        if t.is_empty() || t.contains(char::is_whitespace) {
            return Err(format!("entity_ref_types[{i}]: {t:?} must be non-empty and contain no spaces"));
        }
    }
    let mut unidentifying = Vec::new();
    for (k, re) in &spec.unidentifying_values {
        let what = format!("unidentifying_values[{k:?}]");
        check_key(&what, k)?;
        unidentifying.push((keys.intern(k).map_err(|e| e.0)?, whole_value_regex(&what, re)?));
    }
    let claims_beside = spec.alongside.as_ref().map(|types| {
        std::iter::once(&spec.entity_type)
            .chain(types)
            .map(|t| t.as_bytes().into())
            .chain(crate::rules::objects::AMBIENT.iter().map(|t| t.as_bytes().into()))
            .collect()
    });
    for (i, t) in spec.alongside.iter().flatten().enumerate() {
        if t.is_empty() || t.contains(char::is_whitespace) || t.contains(['*', '|', '?']) {
            return Err(format!("alongside[{i}]: {t:?} must be an entity type, as in \"k8s.cluster\""));
        }
    }
    let mut own_keys: Vec<KeyId> = when.iter().flat_map(|c| c.keys.iter().copied()).collect();
    for alt in &identity {
        if let Alternative::Keys(groups) = alt {
            own_keys.extend(groups.iter().flat_map(|g| g.keys.iter().copied()));
        }
    }
    let containers = spec.containers.as_ref().map(|c| compile_containers(c, keys, config)).transpose()?;
    let relationships = spec
        .relationships
        .iter()
        .enumerate()
        .map(|(i, r)| compile_relationship(r).map_err(|m| format!("relationships[{i}]: {m}")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(CompiledRule {
        name: spec.name.as_str().into(),
        entity_type: spec.entity_type.as_str().into(),
        builtin: false,
        when,
        unless_present,
        derive,
        promotable: !spec.promote_to.is_empty(),
        identity,
        display_name,
        scope,
        contained: Vec::new(),
        entity_ref_types: spec.entity_ref_types.iter().map(|t| t.as_str().into()).collect(),
        unidentifying,
        claims_beside,
        own_keys,
        containers,
        relationships,
        route: Vec::new(),
        links_in_fleet: false,
    })
}

fn compile_relationship(r: &RelationshipSpec) -> Result<Relationship, String> {
    if r.relationship_type.is_empty() || r.relationship_type.contains(char::is_whitespace) {
        return Err(format!("type {:?} must be non-empty and contain no spaces", r.relationship_type));
    }
    if r.target.is_empty() || r.target.contains(char::is_whitespace) {
        return Err(format!("target {:?} must be non-empty and contain no spaces", r.target));
    }
    let mut identity = Vec::new();
    for (i, k) in r.identity.iter().enumerate() {
        let (key, optional) = match k.strip_suffix('?') {
            Some(key) => (key, true),
            None => (k.as_str(), false),
        };
        check_key(&format!("identity[{i}]"), key)?;
        identity.push((key.into(), optional));
    }
    if !identity.iter().any(|(_, optional)| !optional) {
        return Err("identity needs at least one required key (without '?')".into());
    }
    Ok(Relationship {
        relationship_type: r.relationship_type.as_str().into(),
        target: r.target.as_str().into(),
        identity,
    })
}

fn compile_conditions(what: &str, specs: &[ConditionSpec], keys: &mut RuleKeys) -> Result<Vec<Condition>, String> {
    specs.iter().enumerate().map(|(i, c)| compile_condition(c, keys).map_err(|m| format!("{what}[{i}]: {m}"))).collect()
}

fn compile_condition(c: &ConditionSpec, keys: &mut RuleKeys) -> Result<Condition, String> {
    let spellings = compile_spellings("key", &c.key, keys)?;
    let mut ops = Vec::new();
    if let Some(v) = &c.equals {
        ops.push(Op::OneOf(vec![v.as_bytes().into()]));
    }
    if let Some(vs) = &c.one_of {
        if vs.is_empty() {
            return Err("one_of needs at least one value".into());
        }
        ops.push(Op::OneOf(vs.iter().map(|v| v.as_bytes().into()).collect()));
    }
    if let Some(p) = &c.prefix {
        if p.is_empty() {
            return Err("prefix must not be empty".into());
        }
        ops.push(Op::Prefix(p.as_bytes().into()));
    }
    match c.present {
        Some(true) => ops.push(Op::Present),
        Some(false) => ops.push(Op::Absent),
        None => {}
    }
    match c.absent {
        Some(true) => ops.push(Op::Absent),
        Some(false) => ops.push(Op::Present),
        None => {}
    }
    if ops.len() != 1 {
        return Err(format!(
            "condition on {:?} needs exactly one of equals, one_of, prefix, present, absent (found {})",
            c.key,
            ops.len()
        ));
    }
    Ok(Condition { keys: spellings, op: ops.pop().unwrap(), or_absent: c.or_absent })
}

fn compile_derivation(d: &DerivationSpec, keys: &mut RuleKeys) -> Result<Derivation, String> {
    check_key("attribute", &d.attribute)?;
    if d.from.split('|').any(|f| f == d.attribute) {
        return Err("attribute and from must differ".into());
    }
    let from = compile_spellings("from", &d.from, keys)?;
    if d.strip_prefix.as_deref() == Some("") {
        return Err("strip_prefix must not be empty".into());
    }
    if d.strip_prefix.is_some() && d.capture.is_some() {
        return Err("use strip_prefix or capture, not both".into());
    }
    let capture = d.capture.as_deref().map(|re| whole_value_regex("capture", re)).transpose()?;
    if capture.as_ref().is_some_and(|re| re.captures_len() < 2) {
        return Err("capture needs a capture group, as in \"task/([0-9a-f]{32})\"".into());
    }
    Ok(Derivation {
        target: keys.intern(&d.attribute).map_err(|e| e.0)?,
        from,
        strip_prefix: d.strip_prefix.as_ref().map(|p| p.as_bytes().into()),
        capture,
        when: compile_conditions("when", &d.when, keys)?,
    })
}

/// Adds, as qualifiers, the keys that the alternative's required keys are unique within
/// (`RuleSpec::scoped_by`); one the alternative names as a qualifier already becomes a scope.
fn add_scopes(
    alternative: &mut Alternative,
    scoped_by: &std::collections::BTreeMap<String, Vec<String>>,
    keys: &mut RuleKeys,
) -> Result<(), String> {
    let Alternative::Keys(groups) = alternative else {
        return Ok(());
    };
    let scopes: Vec<&String> =
        groups.iter().filter(|g| !g.optional).filter_map(|g| scoped_by.get(&*g.canonical)).flatten().collect();
    for k in scopes {
        match groups.iter_mut().find(|g| *g.canonical == **k) {
            Some(g) => g.scope = g.optional,
            None => {
                let id = keys.intern(k).map_err(|e| e.0)?;
                groups.push(Group { keys: vec![id], canonical: k.as_str().into(), optional: true, scope: true });
            }
        }
    }
    groups.sort_by(|a, b| a.canonical.cmp(&b.canonical));
    Ok(())
}

fn compile_alternative(alt: &[String], keys: &mut RuleKeys) -> Result<Alternative, String> {
    if alt.len() == 1 && alt[0] == "*" {
        return Ok(Alternative::AllAttributes);
    }
    if alt.is_empty() {
        return Err("an alternative needs at least one key".into());
    }
    let mut groups = Vec::new();
    for (i, g) in alt.iter().enumerate() {
        let (body, optional) = match g.strip_suffix('?') {
            Some(b) => (b, true),
            None => (g.as_str(), false),
        };
        let mut ids = Vec::new();
        for k in body.split('|') {
            check_key(&format!("[{i}]"), k)?;
            ids.push(keys.intern(k).map_err(|e| e.0)?);
        }
        let canonical: Box<str> = body.split('|').next().unwrap_or_default().into();
        if groups.iter().any(|x: &Group| x.canonical == canonical) {
            return Err(format!("[{i}]: key {canonical:?} appears twice"));
        }
        groups.push(Group { keys: ids, canonical, optional, scope: false });
    }
    if groups.iter().all(|g| g.optional) {
        return Err("an alternative needs at least one required key (without '?')".into());
    }
    groups.sort_by(|a, b| a.canonical.cmp(&b.canonical));
    Ok(Alternative::Keys(groups))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_config;

    fn compile(json: &str) -> Result<RuleSet, ConfigError> {
        RuleSet::compile(&parse_config(json.as_bytes())?)
    }

    #[test]
    fn builtins_compile_and_are_ordered() {
        let rs = compile("{}").unwrap();
        assert!(rs.rules.len() >= 30);
        let pos = |n: &str| rs.rules.iter().position(|r| &*r.name == n).unwrap();
        assert!(pos("browser_app") < pos("k8s_pod"));
        assert!(pos("k8s_pod") < pos("k8s_job"));
        assert!(pos("k8s_replicaset") < pos("k8s_deployment"));
        assert!(pos("k8s_deployment") < pos("k8s_node"));
        assert!(pos("k8s_namespace") < pos("k8s_cluster"));
        assert!(pos("k8s_cluster") < pos("service_instance"));
        assert!(pos("container") < pos("host"));
        assert_eq!(&*rs.rules.last().unwrap().name, "exact_match");
        let container = &rs.rules[pos("container")];
        assert!(rs.rules[pos("k8s_pod")].contained.contains(&pos("container")));
        assert!(container.promotable);
    }

    #[test]
    fn scoped_by_adds_its_keys_as_scopes_to_the_alternatives_with_the_key() {
        let rs = compile(
            r#"{"rules":[{"name":"a","type":"t","identity":[["k"],["n","s?"],["m"]],"scoped_by":{"n":["s","acct"]}}]}"#,
        )
        .unwrap();
        let scopes = |i: usize| match &rs.rules[0].identity[i] {
            Alternative::Keys(groups) => {
                groups.iter().map(|g| (g.canonical.to_string(), g.optional, g.scope)).collect::<Vec<_>>()
            }
            Alternative::AllAttributes => panic!("keys"),
        };
        assert_eq!(scopes(0), [("k".to_string(), false, false)]);
        let expected =
            [("acct".to_string(), true, true), ("n".to_string(), false, false), ("s".to_string(), true, true)];
        assert_eq!(scopes(1), expected, "a qualifier named as a scope becomes one");
        assert_eq!(scopes(2), [("m".to_string(), false, false)]);
    }

    #[test]
    fn user_rules_come_first_and_are_validated() {
        let rs = compile(r#"{"rules":[{"name":"mine","type":"my.thing","identity":[["my.id"]]}]}"#).unwrap();
        assert_eq!(&*rs.rules[0].name, "mine");
        let bad = [
            (r#"{"rules":[{"name":"Bad Name","type":"t","identity":[["k"]]}]}"#, "rules[0]"),
            (r#"{"rules":[{"name":"a","type":"t","identity":[]}]}"#, "at least one alternative"),
            (r#"{"rules":[{"name":"a","type":"t","identity":[["k?"]]}]}"#, "required key"),
            (r#"{"rules":[{"name":"a","type":"t","identity":[["k","k"]]}]}"#, "twice"),
            (r#"{"rules":[{"name":"a","type":"t","identity":[[""]]}]}"#, "must not be empty"),
            (r#"{"rules":[{"name":"a","type":"t","identity":[["*"],["k"]]}]}"#, "only alternative"),
            (r#"{"rules":[{"name":"a","type":"t","identity":[["k"]],"when":[{"key":"x"}]}]}"#, "exactly one"),
            (
                r#"{"rules":[{"name":"a","type":"t","identity":[["k"]],"when":[{"key":"x","equals":"1","prefix":"2"}]}]}"#,
                "exactly one",
            ),
            (r#"{"rules":[{"name":"a","type":"t","identity":[["k"]],"pool":["k8s*"]}]}"#, "pool[0]"),
            (
                r#"{"rules":[{"name":"a","type":"t","identity":[["k"]],"scoped_by":{"x":["s"]}}]}"#,
                "scoped_by[\"x\"]: no identity alternative has the key \"x\"",
            ),
            (r#"{"rules":[{"name":"a","type":"t","identity":[["k|x"]],"scoped_by":{"x":["s"]}}]}"#, "first spelling"),
            (r#"{"rules":[{"name":"a","type":"t","identity":[["k","x?"]],"scoped_by":{"x":["s"]}}]}"#, "required"),
            (
                r#"{"rules":[{"name":"a","type":"t","identity":[["k"]],"scoped_by":{"k":[]}}]}"#,
                "scoped_by[\"k\"]: name at least one key",
            ),
            (r#"{"rules":[{"name":"a","type":"t","identity":[["k"]],"scoped_by":{"k":[""]}}]}"#, "scoped_by[\"k\"][0]"),
            (r#"{"rules":[{"name":"a","type":"t","identity":[["k"]],"promote_to":["nope"]}]}"#, "promote_to[0]"),
            (r#"{"rules":[{"name":"k8s_pod","type":"t","identity":[["k"]]}]}"#, "already used"),
            (
                r#"{"rules":[{"name":"a","type":"t","identity":[["k"]],"derive":[{"attribute":"k","from":"k"}]}]}"#,
                "derive[0]",
            ),
            (r#"{"disabled_rules":["no_such_rule"]}"#, "disabled_rules[0]"),
            (r#"{"id_attribute":""}"#, "id_attribute"),
            (r#"{"id_attribute":"x","type_attribute":"x"}"#, "must differ"),
            (r#"{"id_attribute":"k8s.pod.uid"}"#, "id_attribute \"k8s.pod.uid\" is an attribute the rules read"),
            (r#"{"name_attribute":"k8s.pod.name"}"#, "name_attribute"),
            (
                r#"{"rule_attribute":"my.key","rules":[{"name":"a","type":"t","identity":[["my.key"]]}]}"#,
                "rule_attribute",
            ),
            (r#"{"max_entities":0}"#, "max_entities"),
            (r#"{"ttl":"0s"}"#, "ttl must be between 1s"),
            (r#"{"mode":"identify","ttl":"30s"}"#, "warmup (default 1m) must be at most the ttl (30s)"),
            (r#"{"mode":"dry-run"}"#, "mode: dry-run is not one of enrich, observe"),
            (r#"{"route_attribute":""}"#, "route_attribute must not be empty"),
            (r#"{"route_attribute":"resource.id"}"#, "and route_attribute must differ"),
            (r#"{"route_attribute":"k8s.pod.name"}"#, "route_attribute"),
            (r#"{"pooling":{"exclude":["a.*b"]}}"#, "pooling.exclude[0]"),
            (
                r#"{"rules":[{"name":"a","type":"t","identity":[["k"]],"derive":[{"attribute":"k","from":"x","capture":"("}]}]}"#,
                "not a valid regular expression",
            ),
            (
                r#"{"rules":[{"name":"a","type":"t","identity":[["k"]],"derive":[{"attribute":"k","from":"x","capture":"x"}]}]}"#,
                "capture needs a capture group",
            ),
            (
                r#"{"rules":[{"name":"a","type":"t","identity":[["k"]],"derive":[{"attribute":"k","from":"x","capture":"(x)","strip_prefix":"y"}]}]}"#,
                "not both",
            ),
            (
                r#"{"rules":[{"name":"a","type":"t","identity":[["k"]],"unidentifying_values":{"k":"["}}]}"#,
                "unidentifying_values",
            ),
            (
                r#"{"rules":[{"name":"a","type":"t","identity":[["k"]],"containers":{"named_by":[],"scoped":["s.*"]}}]}"#,
                "containers.named_by",
            ),
            (
                r#"{"rules":[{"name":"a","type":"t","identity":[["k"]],"containers":{"named_by":["c"],"scoped":["s*"]}}]}"#,
                "containers.scoped[0]",
            ),
            (
                r#"{"rules":[{"name":"a","type":"t","identity":[["k"]],"entity_ref_types":[" "]}]}"#,
                "entity_ref_types[0]",
            ),
            (
                r#"{"rules":[{"name":"a","type":"t","identity":[["k"]],"when":[{"key":"a||b","present":true}]}]}"#,
                "when[0]",
            ),
        ];
        for (json, needle) in bad {
            let err = compile(json).expect_err(json);
            assert!(err.0.contains(needle), "{json}: {}", err.0);
        }
    }

    #[test]
    fn regular_expressions_take_perl_classes() {
        let rs = compile(
            r#"{"rules":[{"name":"a","type":"t","identity":[["k"]],"derive":[{"attribute":"k","from":"x","capture":"task/(\\d+)\\s?\\w*"}],"unidentifying_values":{"k":"\\d{12}"}}]}"#,
        );
        assert!(rs.is_ok(), "{:?}", rs.err());
    }

    #[test]
    fn disabled_builtin_frees_its_name() {
        let rs = compile(r#"{"disabled_rules":["k8s_pod"],"rules":[{"name":"k8s_pod","type":"k8s.pod","identity":[["k8s.pod.uid"]]}]}"#)
            .unwrap();
        assert_eq!(rs.rules.iter().filter(|r| &*r.name == "k8s_pod").count(), 1);
        assert!(!rs.rules[0].builtin);
    }

    #[test]
    fn scopes() {
        let s = Scope::new(&["k8s.pod.*".into(), "service.name".into()], &["extra".into()], &["k8s.pod.secret".into()]);
        assert!(s.allows(b"k8s.pod.name"));
        assert!(s.allows(b"service.name"));
        assert!(s.allows(b"extra"));
        assert!(!s.allows(b"k8s.pod.secret"));
        assert!(!s.allows(b"service.namespace"));
        assert!(!s.allows(b"k8s.pod"));
        let all = Scope::new(&["*".into()], &[], &["process.*".into()]);
        assert!(all.allows(b"anything"));
        assert!(!all.allows(b"process.pid"));
        assert!(Scope::new(&["*".into()], &[], &["*".into()]).is_empty());
    }
}
