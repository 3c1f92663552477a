//! Decides which entity one resource describes: the resource's own entity references first,
//! then the rules in precedence order; the first that matches decides the type.

use crate::id::{EntityId, IdValue, exact_id, identity_id};
use crate::resource::{Attr, EntityRefView, MAX_VALUE_BYTES, Value, recycle};
use crate::rules::{Alternative, CompiledRule, Condition, Group, KeyId, Op, RuleSet};

/// What a resource was recognised as.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Outcome<'a> {
    /// A rule matched. `MatchScratch::alternatives` holds the standalone id of every identity
    /// alternative the resource carries (lowest index first); `MatchScratch::derived` the values the
    /// rule derived.
    Rule { rule: usize },
    /// The resource declared the entity itself (`Resource.entity_refs[index]`).
    EntityRef { index: usize, entity_type: &'a str, id: EntityId },
    /// Nothing matched (only possible when the exact-match fallback is disabled).
    Unmatched,
}

/// What an identity alternative's scopes (`RuleSpec::scoped_by`: the keys a name is unique
/// within, such as the account of a host's name) make of a resource's id. A resource that
/// carries a scope is identified within it (its scoped name); one that carries none cannot say
/// which scope it is in (its bare name), and is joined to the scoped name its bare name stands for
/// while only one scope claims it (`Engine::resolve_and_link`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopedName {
    /// The alternative has no scope.
    Unscoped,
    /// The resource carries none of its scopes: its id is the bare name.
    Bare,
    /// The resource carries some: its id is the scoped name, and `bare` the id without them.
    Scoped { bare: EntityId },
}

/// Per-resource working memory, reused across the resources of a batch.
pub struct MatchScratch<'a> {
    slots: Vec<Option<Value<'a>>>,
    touched: Vec<KeyId>,
    /// Values of rule keys on the current resource too long to identify (`id_value`).
    pub oversized: u32,
    /// The rules the current resource can match (`rules::index`), as a bit set.
    candidates: Vec<u64>,
    pub derived: Vec<(KeyId, &'a [u8])>,
    /// The keys `derived` values were computed from.
    derived_from: Vec<KeyId>,
    pub alternatives: Vec<(usize, EntityId)>,
    /// For each of `alternatives`, what its scopes make of it (`ScopedName`).
    pub scoped_names: Vec<ScopedName>,
    parts: Vec<(&'a [u8], IdValue<'a>)>,
    exact: Vec<(&'a [u8], &'a [u8])>,
}

impl<'a> MatchScratch<'a> {
    pub fn new(rules: &RuleSet) -> Self {
        MatchScratch {
            slots: vec![None; rules.keys.len()],
            touched: Vec::new(),
            oversized: 0,
            candidates: Vec::new(),
            derived: Vec::new(),
            derived_from: Vec::new(),
            alternatives: Vec::new(),
            scoped_names: Vec::new(),
            parts: Vec::new(),
            exact: Vec::new(),
        }
    }

    /// The same memory borrowing nothing (`engine::work`): every slot empty, buffers kept.
    pub fn unborrowed(mut self) -> MatchScratch<'static> {
        self.reset();
        let keys = self.slots.len();
        let mut slots = recycle(self.slots);
        slots.resize(keys, None);
        MatchScratch {
            slots,
            touched: self.touched,
            oversized: 0,
            candidates: self.candidates,
            derived: recycle(self.derived),
            derived_from: self.derived_from,
            alternatives: self.alternatives,
            scoped_names: self.scoped_names,
            parts: recycle(self.parts),
            exact: recycle(self.exact),
        }
    }

    /// Value of a rule key on the current resource (first occurrence, or derived).
    pub fn slot(&self, key: KeyId) -> Option<Value<'a>> {
        self.slots[key as usize]
    }

    fn reset(&mut self) {
        for k in self.touched.drain(..) {
            self.slots[k as usize] = None;
        }
        self.derived.clear();
        self.derived_from.clear();
        self.alternatives.clear();
        self.scoped_names.clear();
        self.oversized = 0;
    }

    fn set(&mut self, key: KeyId, value: Value<'a>) {
        let slot = &mut self.slots[key as usize];
        if slot.is_none() {
            *slot = Some(value);
            self.touched.push(key);
        }
    }
}

/// A string value usable as an identity or pooled: valid UTF-8, not blank, not a placeholder.
fn usable_str(s: &[u8]) -> bool {
    not_blank(s) && !placeholder(s)
}

/// What a program writes where it had no value. Whichever key it is written under, it names
/// nothing, and the sources of two different entities write the same one:
/// - a word saying so, in any case (`unknown`, `undefined`, `null`, `<nil>`: Go's `%v` of nil,
///   `n/a`, `-`: a log format's empty field, ...);
/// - a reference left unexpanded: `$(VAR)` is what Kubernetes leaves when a container's env
///   refers to a variable it cannot resolve (`OTEL_RESOURCE_ATTRIBUTES=k8s.pod.uid=$(POD_UID)`
///   with POD_UID defined after it), `${VAR}`, `%{var}` and `{{ .var }}` the other template forms.
fn placeholder(s: &[u8]) -> bool {
    const WORDS: [&[u8]; 14] = [
        b"unknown",
        b"undefined",
        b"null",
        b"nil",
        b"<nil>",
        b"(null)",
        b"none",
        b"<none>",
        b"(none)",
        b"n/a",
        b"-",
        b"<unknown>",
        b"<no value>",
        b"unset",
    ];
    let t = s.trim_ascii();
    // Every placeholder starts with one of these bytes; nearly no real value is checked further.
    if !t
        .first()
        .is_some_and(|b| matches!(b.to_ascii_lowercase(), b'u' | b'n' | b'<' | b'(' | b'-' | b'$' | b'%' | b'{'))
    {
        return false;
    }
    if t.len() <= 10 && WORDS.iter().any(|w| t.eq_ignore_ascii_case(w)) {
        return true;
    }
    let enclosed =
        |open: &[u8], close: &[u8]| t.len() > open.len() + close.len() && t.starts_with(open) && t.ends_with(close);
    enclosed(b"$(", b")") || enclosed(b"${", b"}") || enclosed(b"%{", b"}") || enclosed(b"{{", b"}}")
}

/// The SDKs' fallback service name, `unknown_service` or `unknown_service:<executable>`
/// (OpenTelemetry's resource semantic conventions). With a `service.instance.id` it still names
/// one process, so it is not a placeholder; but alone it names no service (`names_no_service`),
/// and it says nothing another resource of the entity should be given (a sidecar's logs would
/// gain an unconfigured app's "name"), so it is not pooled. It still completes an identity
/// alternative: a browser resource's rule must claim it, or the next rule would (the pod of an
/// ingress that forwarded it, `tests/scenarios/neg_browser_through_an_ingress_is_not_its_pod`).
fn fallback_service_name(v: Value<'_>) -> bool {
    const FALLBACK: &[u8] = b"unknown_service";
    let Value::Str(s) = v else {
        return false;
    };
    s.len() >= FALLBACK.len()
        && s[..FALLBACK.len()].eq_ignore_ascii_case(FALLBACK)
        && s.get(FALLBACK.len()).is_none_or(|b| *b == b':')
}

/// Whether an identifying value is the fallback service name, which tells one unconfigured app
/// from no other: it names no related service (`events::relationships`) and no declared entity
/// (`match_entity_refs`).
pub fn names_no_service(v: IdValue<'_>) -> bool {
    matches!(v, IdValue::Str(s) if fallback_service_name(Value::Str(s)))
}

/// Whether a resource's value is pooled into its entity: it says something of it (not blank, not
/// a placeholder, not the fallback service name).
pub fn poolable(v: Value<'_>) -> bool {
    !blank(v) && !fallback_service_name(v)
}

/// A string that is valid UTF-8, not empty, not only whitespace.
fn not_blank(s: &[u8]) -> bool {
    // Nearly every value is ASCII, where this says what `usable_utf8` says in one pass (the
    // ASCII bytes `str::trim` takes for white space are b' ' and b'\t'..=b'\r').
    if s.is_ascii() { s.iter().any(|b| !matches!(b, b' ' | b'\t'..=b'\r')) } else { usable_utf8(s) }
}

fn usable_utf8(s: &[u8]) -> bool {
    std::str::from_utf8(s).is_ok_and(|t| !t.trim().is_empty())
}

/// The identity form of a value, if it has one. Doubles, booleans, bytes, arrays and maps
/// never identify an entity; integers do, by their decimal form; strings do up to
/// `MAX_VALUE_BYTES` (no real identity is near it, and a longer one is not pooled either).
pub fn id_value(v: Value<'_>) -> Option<IdValue<'_>> {
    match v {
        Value::Str(s) if !too_long_to_identify(v) && usable_str(s) => Some(IdValue::Str(s)),
        Value::Int(i) => Some(IdValue::Int(i)),
        _ => None,
    }
}

/// A string over `MAX_VALUE_BYTES`: it identifies nothing (and is counted where it is read).
fn too_long_to_identify(v: Value<'_>) -> bool {
    matches!(v, Value::Str(s) if s.len() > MAX_VALUE_BYTES)
}

/// Whether a value counts as present: set, and not an empty or blank string.
fn present(v: Option<Value<'_>>) -> bool {
    v.is_some_and(|v| !blank(v))
}

/// A value that says nothing: `unset`, or a placeholder. It neither identifies nor is pooled.
pub fn blank(v: Value<'_>) -> bool {
    unset(v) || matches!(v, Value::Str(s) if placeholder(s))
}

/// A value that is not there: unset, an empty or whitespace string (or not UTF-8), an empty
/// array or map. Unlike a placeholder, which says a value is missing, it says nothing at all:
/// the key's presence with a placeholder still tells what the resource describes (a pod, when
/// `k8s.pod.uid` is `$(POD_UID)`), and a placeholder still tells that a tenant was named.
pub fn unset(v: Value<'_>) -> bool {
    match v {
        Value::Empty => true,
        Value::Str(s) => !not_blank(s),
        Value::Array(b) | Value::KvList(b) => b.is_empty(),
        _ => false,
    }
}

/// The value of the first present spelling of a key.
fn first_present<'a>(keys: &[KeyId], s: &MatchScratch<'a>) -> Option<Value<'a>> {
    keys.iter().map(|k| s.slot(*k)).find(|v| present(*v)).flatten()
}

fn holds(c: &Condition, s: &MatchScratch<'_>) -> bool {
    let v = first_present(&c.keys, s);
    if !present(v) {
        return c.or_absent || matches!(c.op, Op::Absent);
    }
    let v = v.unwrap();
    match &c.op {
        Op::Present => true,
        Op::Absent => false,
        Op::OneOf(vals) => v.as_single_string().is_some_and(|s| vals.iter().any(|x| **x == *s)),
        Op::Prefix(p) => v.as_single_string().is_some_and(|s| s.starts_with(p)),
    }
}

/// Matches one resource. `output_keys` (the id/type/name attributes this engine writes) are
/// ignored, so a resource that already passed through a processor is recognised the same way.
pub fn match_resource<'a>(
    rules: &'a RuleSet,
    attrs: &[Attr<'a>],
    entity_refs: &[EntityRefView<'a>],
    output_keys: &[&[u8]],
    s: &mut MatchScratch<'a>,
) -> Outcome<'a> {
    s.reset();
    for a in attrs {
        if let Some(k) = rules.keys.get(a.key) {
            s.set(k, a.value);
            s.oversized += u32::from(too_long_to_identify(a.value));
        }
    }
    rules.index.candidates(&s.touched, &mut s.candidates);
    let candidates = std::mem::take(&mut s.candidates);
    let outcome = match_rules(rules, &candidates, attrs, output_keys, s);
    s.candidates = candidates;
    // A declared entity of a type no rule knows is the resource's entity only where no rule
    // knows a finer one: a declaration may name what the resource is part of (the Java SDK's
    // entity prototype declares `service` and `telemetry.sdk`, which every process of a service,
    // or every Java process, shares), and the rules, tried from the finest entity, know which
    // entity the resource's own keys name.
    match outcome {
        Outcome::Unmatched => match_entity_refs(rules, attrs, entity_refs, s).unwrap_or(outcome),
        Outcome::Rule { rule } if rules.rules[rule].is_fallback() => {
            match_entity_refs(rules, attrs, entity_refs, s).unwrap_or(outcome)
        }
        matched => matched,
    }
}

/// The first of the candidate rules, in precedence order, that the resource matches.
fn match_rules<'a>(
    rules: &'a RuleSet,
    candidates: &[u64],
    attrs: &[Attr<'a>],
    output_keys: &[&[u8]],
    s: &mut MatchScratch<'a>,
) -> Outcome<'a> {
    for ri in crate::rules::index::set_bits(candidates) {
        let rule = &rules.rules[ri];
        if !rule.when.iter().all(|c| holds(c, s)) || rule.unless_present.iter().any(|k| present(s.slot(*k))) {
            continue;
        }
        apply_derivations(rule, s);
        collect_alternatives(rules, rule, attrs, output_keys, s);
        if !s.alternatives.is_empty() && describes_only_its_own(rules, rule, attrs, s) {
            return Outcome::Rule { rule: ri };
        }
        s.alternatives.clear();
        s.scoped_names.clear();
        s.derived_from.clear();
        for (k, _) in s.derived.drain(..) {
            s.slots[k as usize] = None;
        }
    }
    Outcome::Unmatched
}

/// For a coarse rule (`alongside`), whether every object the resource's attributes describe is
/// one the rule may claim beside (`objects`), or one the rule derived its identity from (an
/// event's `k8s.object`). What the rule itself reads, what the engine writes and blank values
/// describe nothing here.
fn describes_only_its_own(rules: &RuleSet, rule: &CompiledRule, attrs: &[Attr<'_>], s: &MatchScratch<'_>) -> bool {
    let Some(beside) = &rule.claims_beside else {
        return true;
    };
    let registry = crate::rules::objects::Objects::registry();
    let derived_from = || s.derived_from.iter().flat_map(|k| registry.of(rules.keys.name(*k).as_bytes()));
    let allowed = |object: &[u8]| {
        beside.iter().any(|t| crate::rules::objects::is_under(object, t)) || derived_from().any(|o| o == object)
    };
    attrs.iter().all(|a| {
        if unset(a.value)
            || rules.keys.get(a.key).is_some_and(|k| rule.own_keys.contains(&k))
            || rules.engine_keys.iter().any(|k| **k == *a.key)
        {
            return true;
        }
        let mut objects = registry.of(a.key).peekable();
        objects.peek().is_none() || objects.any(allowed)
    })
}

/// Computes the rule's derived values the resource lacks. A derivation whose value the resource
/// already carries (a kubelet's node event names its node in both places) still says what the
/// resource is about (`derived_from`); one it contradicts does not.
fn apply_derivations<'a>(rule: &CompiledRule, s: &mut MatchScratch<'a>) {
    for d in &rule.derive {
        if !d.when.iter().all(|c| holds(c, s)) {
            continue;
        }
        let Some((from, v)) = d
            .from
            .iter()
            .find_map(|k| s.slot(*k).filter(|v| !blank(*v)).map(|v| (*k, v)))
            .and_then(|(k, v)| Some((k, v.as_single_string()?)))
        else {
            continue;
        };
        let v = if let Some(p) = &d.strip_prefix {
            match v.strip_prefix(&**p) {
                Some(rest) => rest,
                None => continue,
            }
        } else if let Some(re) = &d.capture {
            // Identities are UTF-8 (`usable_str`), so a value that is not cannot be captured.
            let Some(c) = std::str::from_utf8(v).ok().and_then(|t| re.captures(t)).and_then(|c| c.get(1)) else {
                continue;
            };
            &v[c.start()..c.end()]
        } else {
            v
        };
        if let Some(own) = s.slot(d.target).filter(|v| !blank(*v)) {
            if own.as_single_string() == Some(v) {
                s.derived_from.push(from);
            }
        } else if usable_str(v) {
            s.slots[d.target as usize] = Some(Value::Str(v));
            s.touched.push(d.target);
            s.derived.push((d.target, v));
            s.derived_from.push(from);
        }
    }
}

fn collect_alternatives<'a>(
    rules: &RuleSet,
    rule: &'a CompiledRule,
    attrs: &[Attr<'a>],
    output_keys: &[&[u8]],
    s: &mut MatchScratch<'a>,
) {
    for (ai, alt) in rule.identity.iter().enumerate() {
        match alt {
            Alternative::AllAttributes => {
                s.exact.clear();
                s.exact.extend(attrs.iter().filter(|a| !output_keys.contains(&a.key)).map(|a| (a.key, a.raw_value)));
                let id = exact_id(rule.entity_type.as_bytes(), &mut s.exact);
                s.alternatives.push((ai, id));
                s.scoped_names.push(ScopedName::Unscoped);
            }
            Alternative::Keys(groups) => {
                s.parts.clear();
                let required = groups.iter().filter(|g| !g.optional);
                let mut complete = true;
                for g in required {
                    match group_value(rules, rule, g, s) {
                        Some(v) => s.parts.push((g.canonical.as_bytes(), v)),
                        None => {
                            complete = false;
                            break;
                        }
                    }
                }
                if !complete {
                    continue;
                }
                // Qualifiers, the scopes (`scoped_by`) last, so that the name without them (its
                // bare name) is a prefix of the parts.
                let qualifiers_present = |scope: bool, s: &mut MatchScratch<'a>| {
                    for g in groups.iter().filter(|g| g.optional && g.scope == scope) {
                        if let Some(v) = group_value(rules, rule, g, s) {
                            s.parts.push((g.canonical.as_bytes(), v));
                        }
                    }
                };
                qualifiers_present(false, s);
                let bare_parts = s.parts.len();
                qualifiers_present(true, s);
                let scoped_name = if s.parts.len() > bare_parts {
                    ScopedName::Scoped { bare: identity_id(rule.entity_type.as_bytes(), &mut s.parts[..bare_parts]) }
                } else if alt.has_scopes() {
                    ScopedName::Bare
                } else {
                    ScopedName::Unscoped
                };
                let id = identity_id(rule.entity_type.as_bytes(), &mut s.parts);
                s.alternatives.push((ai, id));
                s.scoped_names.push(scoped_name);
            }
        }
    }
}

/// The value a group of an identity reads: its first spelling present whose value identifies.
fn group_value<'a>(rules: &RuleSet, rule: &CompiledRule, g: &Group, s: &MatchScratch<'a>) -> Option<IdValue<'a>> {
    g.keys.iter().find_map(|k| s.slot(*k).and_then(id_value).filter(|v| identifies(rules, rule, *k, *v)))
}

/// The id of the matched rule's route keys (`CompiledRule::route`) on the current resource, when
/// it carries all of them.
pub fn route_id<'a>(rules: &RuleSet, rule: &'a CompiledRule, s: &mut MatchScratch<'a>) -> Option<EntityId> {
    if rule.route.is_empty() {
        return None;
    }
    s.parts.clear();
    for g in &rule.route {
        let v = group_value(rules, rule, g, s)?;
        s.parts.push((g.canonical.as_bytes(), v));
    }
    Some(identity_id(rule.entity_type.as_bytes(), &mut s.parts))
}

/// The keys and values of identity alternative `alternative` of `rule` on the current resource,
/// as `collect_alternatives` read them (for explanations and entity events). Empty for the exact-match fallback,
/// whose identity is every attribute.
pub fn identity_parts(rules: &RuleSet, rule: usize, alternative: usize, s: &MatchScratch<'_>) -> Vec<(String, String)> {
    let r = &rules.rules[rule];
    match &r.identity[alternative] {
        Alternative::AllAttributes => Vec::new(),
        Alternative::Keys(groups) => groups
            .iter()
            .filter_map(|g| {
                let (k, v) = g.keys.iter().find_map(|k| {
                    let v = s.slot(*k).and_then(id_value).filter(|v| identifies(rules, r, *k, *v))?;
                    Some((*k, v))
                })?;
                // The spelling the resource carries (the id is computed under the canonical one).
                Some((rules.keys.name(k).to_string(), v.text()))
            })
            .collect(),
    }
}

/// Whether a value identifies anything: the table every rule uses says that some do not (a
/// wildcard or loopback address in any key, `localhost` as a host name), and a rule may add more.
pub fn identifies(rules: &RuleSet, rule: &CompiledRule, key: KeyId, v: IdValue<'_>) -> bool {
    // An integer is matched by its decimal form, the form its id is made of: `0` is refused
    // where `"0"` is.
    let mut digits = [0u8; 20];
    let text = match v {
        IdValue::Str(text) => text,
        IdValue::Int(i) => crate::id::decimal(i, &mut digits),
    };
    // `id_value` only yields UTF-8 strings.
    let Ok(text) = std::str::from_utf8(text) else {
        return true;
    };
    let per_key = rules.unidentifying.iter().chain(&rule.unidentifying).filter(|(k, _)| *k == key);
    !rules.unidentifying_any.iter().chain(per_key.map(|(_, re)| re)).any(|re| re.is_match(text))
}

/// Evaluates only `rule`'s conditions and identity on the current resource (after a match by
/// another rule): the standalone id of the lowest alternative present, if any, and what its
/// scopes make of it.
pub fn standalone_id<'a>(
    rules: &RuleSet,
    rule: &'a CompiledRule,
    attrs: &[Attr<'a>],
    s: &mut MatchScratch<'a>,
) -> Option<(EntityId, ScopedName)> {
    if !rule.when.iter().all(|c| holds(c, s)) || rule.unless_present.iter().any(|k| present(s.slot(*k))) {
        return None;
    }
    let saved = (std::mem::take(&mut s.alternatives), std::mem::take(&mut s.scoped_names));
    collect_alternatives(rules, rule, attrs, &[], s);
    let id = s.alternatives.first().map(|(_, id)| *id).zip(s.scoped_names.first().copied());
    (s.alternatives, s.scoped_names) = saved;
    id
}

/// A resource that declares an entity the rules do not know is matched by that declaration,
/// when it is the one complete such declaration. Declarations of a type the rules know (a rule's
/// type, or one a rule claims in `entity_ref_types`) are left to the rules, so that one entity
/// has one id whichever source reports it, declared or not: the k8scluster receiver's node (uid
/// and name) then links its name to its uid as any resource would, and kubeletstats' node (name
/// only) joins it; its `k8s.container` on a resource that carries the pod's uid is that pod's
/// resource.
fn match_entity_refs<'a>(
    rules: &'a RuleSet,
    attrs: &[Attr<'a>],
    refs: &[EntityRefView<'a>],
    s: &mut MatchScratch<'a>,
) -> Option<Outcome<'a>> {
    // A declaration the rules leave to it, whose every id key has an identifying value.
    let value = |key: &[u8]| attrs.iter().find(|a| a.key == key).and_then(|a| id_value(a.value));
    let complete = |r: &EntityRefView<'_>| {
        let known = std::str::from_utf8(r.entity_type).is_ok_and(|t| !t.trim().is_empty());
        known
            && !r.id_keys.is_empty()
            && !rules.decides_ref_type(r.entity_type)
            && r.id_keys.iter().all(|key| value(key).is_some())
    };
    let mut candidates = refs.iter().enumerate().filter(|(_, r)| complete(r));
    let (index, r) = candidates.next()?;
    // Two declarations do not say which one the resource is (the Java SDK's entity prototype
    // declares both `telemetry.sdk` and `service`, each shared by many processes): the resource
    // keeps its own identity. So does one named only by the fallback service name: the `service`
    // of an unconfigured app (`unknown_service:java`) would make every such process one entity.
    if candidates.next().is_some() || r.id_keys.iter().all(|key| value(key).is_some_and(names_no_service)) {
        return None;
    }
    s.parts.clear();
    for key in &r.id_keys {
        s.parts.push((key, value(key)?));
    }
    let entity_type = std::str::from_utf8(r.entity_type).ok()?;
    let id = identity_id(r.entity_type, &mut s.parts);
    Some(Outcome::EntityRef { index, entity_type, id })
}

#[cfg(test)]
mod tests {
    use super::{not_blank, placeholder, usable_utf8 as general};

    #[test]
    fn the_ascii_path_says_what_trimming_says() {
        let ascii: Vec<u8> = (0..128).collect();
        for a in &ascii {
            assert_eq!(not_blank(&[*a]), general(&[*a]), "byte {a}");
            for b in &ascii {
                assert_eq!(not_blank(&[*a, *b]), general(&[*a, *b]), "bytes {a} {b}");
            }
        }
        for s in ["", " \u{85}", "\u{a0}", "\u{2003}x", "é", "\t\u{b}\u{c}\r\n "] {
            assert_eq!(not_blank(s.as_bytes()), general(s.as_bytes()), "{s:?}");
        }
        assert!(!not_blank(b"\xff"));
    }

    #[test]
    fn placeholders_are_whole_values_only() {
        for p in ["unknown", "UNKNOWN", " <nil> ", "N/A", "-", "$(POD_UID)", "${HOST}", "%{host}", "{{ .Values.uid }}"]
        {
            assert!(placeholder(p.as_bytes()), "{p:?}");
        }
        for v in
            ["unknown-app", "none-such", "unknown_service", "$", "$()", "cart-$(x)", "a-b", "nil-7", "9f1e2d", "shop"]
        {
            assert!(!placeholder(v.as_bytes()), "{v:?}");
        }
        let pooled = |s: &str| super::poolable(crate::resource::Value::Str(s.as_bytes()));
        assert!(!pooled("unknown_service") && !pooled("Unknown_Service:java") && !pooled("unknown"));
        assert!(pooled("unknown_services") && pooled("checkout"));
    }
}
