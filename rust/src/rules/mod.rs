//! Rules: which entity a resource describes. `compile` turns rule specs (built-in and user, one
//! schema) into the compiled rules below; `index` finds the rules a resource's keys can trigger;
//! `matcher` evaluates them; `objects` tells which object an attribute describes; `scope` which
//! keys a rule pools.

mod compile;
pub(crate) mod index;
pub(crate) mod keys;
pub(crate) mod matcher;
pub(crate) mod objects;
pub(crate) mod scope;

use crate::rules::index::RuleIndex;
pub use crate::rules::keys::{KeyId, RuleKeys};
pub use crate::rules::scope::Scope;
use regex::Regex;

#[derive(Debug)]
pub enum Op {
    OneOf(Vec<Box<[u8]>>),
    Prefix(Box<[u8]>),
    Present,
    Absent,
}

#[derive(Debug)]
pub struct Condition {
    /// Spellings of the key, first present wins.
    pub keys: Vec<KeyId>,
    pub op: Op,
    pub or_absent: bool,
}

/// One element of an identity alternative: the first present of `keys`, identified as `canonical`.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub keys: Vec<KeyId>,
    pub canonical: Box<str>,
    pub optional: bool,
    /// A qualifier from `scoped_by`: a resource without it joins the one scope that claims its
    /// name (`matcher::ScopedName`).
    pub scope: bool,
}

#[derive(Debug)]
pub enum Alternative {
    /// Groups sorted by canonical key, so the id does not depend on how a rule lists them.
    Keys(Vec<Group>),
    /// Every attribute of the resource (the exact-match fallback).
    AllAttributes,
}

impl Alternative {
    /// Whether a resource may carry the alternative's name bare or scoped (`RuleSpec::scoped_by`).
    pub fn has_scopes(&self) -> bool {
        matches!(self, Alternative::Keys(groups) if groups.iter().any(|g| g.scope))
    }
}

#[derive(Debug)]
pub struct Derivation {
    pub target: KeyId,
    /// Spellings of the source key, first present wins.
    pub from: Vec<KeyId>,
    pub strip_prefix: Option<Box<[u8]>>,
    /// Whole-value match whose first capture group is the derived value.
    pub capture: Option<Regex>,
    pub when: Vec<Condition>,
}

/// Container scope of a multi-container entity (see `ContainersSpec`).
#[derive(Debug)]
pub struct ContainerScope {
    /// Keys that name the container, each with its other spellings (`a|b`: one container named
    /// alike by either key); a name is told apart by its first spelling.
    pub named_by: Vec<Vec<KeyId>>,
    /// Pooled keys that belong to one container.
    pub scoped: Scope,
    /// Keys of `scoped` that may also fill resources naming no container.
    pub shared_when_agreed: Scope,
}

#[derive(Debug)]
pub struct CompiledRule {
    pub name: Box<str>,
    pub entity_type: Box<str>,
    pub builtin: bool,
    pub when: Vec<Condition>,
    pub unless_present: Vec<KeyId>,
    pub derive: Vec<Derivation>,
    pub identity: Vec<Alternative>,
    pub display_name: Vec<KeyId>,
    pub scope: Scope,
    /// Rules whose entities this rule's entity contains many-to-one (their `promote_to` names
    /// this rule's type): when this rule matches, their identities on the resource are linked.
    pub contained: Vec<usize>,
    /// Whether resources of this rule may be promoted into a containing entity (`promote_to`).
    pub promotable: bool,
    /// Entity reference types that stand for this rule's entity (`entity_ref_types`).
    pub entity_ref_types: Vec<Box<str>>,
    /// Per key, values that identify nothing, beside the table every rule uses
    /// (`RuleSet::unidentifying`).
    pub unidentifying: Vec<(KeyId, Regex)>,
    /// For a coarse rule (`alongside`), the objects a resource it claims may describe: its own
    /// entity type, its `alongside` types and the ambient ones. `None`: the rule is not coarse.
    pub claims_beside: Option<Vec<Box<[u8]>>>,
    /// Keys the rule itself reads (identity and `when`): what they describe is the rule's concern.
    pub own_keys: Vec<KeyId>,
    pub containers: Option<ContainerScope>,
    pub relationships: Vec<Relationship>,
    /// The keys a fleet routes the rule's resources by (`route_of`); empty: by their own id.
    pub route: Vec<Group>,
    /// Whether a collector behind a fleet's routers may follow this rule's alias and bare-name
    /// links: every rule of its type routes by the same nonempty `route`, so every resource that
    /// claims or follows one of its links reached the same collector.
    pub links_in_fleet: bool,
}

impl CompiledRule {
    /// Whether the rule identifies a resource by all its attributes (`exact_match`): the
    /// fallback for a resource no entity is known for.
    pub fn is_fallback(&self) -> bool {
        self.identity.iter().any(|a| matches!(a, Alternative::AllAttributes))
    }

    /// The keys whose presence makes a resource a candidate for this rule (`index`), or `None`
    /// when it is always tried. Sorted and deduplicated.
    pub fn triggers(&self) -> Option<Vec<KeyId>> {
        let mut keys = Vec::new();
        for alt in &self.identity {
            match alt {
                Alternative::AllAttributes => return None,
                Alternative::Keys(groups) => match groups.iter().find(|g| !g.optional) {
                    Some(g) => keys.extend(&g.keys),
                    None => return None,
                },
            }
        }
        keys.extend(self.derive.iter().flat_map(|d| &d.from));
        keys.sort_unstable();
        keys.dedup();
        Some(keys)
    }
}

/// A relationship of a rule's entity (see `RelationshipSpec`).
#[derive(Debug)]
pub struct Relationship {
    pub relationship_type: Box<str>,
    pub target: Box<str>,
    /// Identity keys of the target, and whether each is optional.
    pub identity: Vec<(Box<str>, bool)>,
}

/// The rules in use, in precedence order, and the keys they refer to.
#[derive(Debug)]
pub struct RuleSet {
    pub rules: Vec<CompiledRule>,
    pub keys: RuleKeys,
    /// Pool exclusions from the configuration, applied to entity-reference scopes too.
    pub global_exclude: Scope,
    pub pooling: bool,
    /// Entity types the rules decide when a resource declares them: every rule's type and every
    /// type a rule claims (`entity_ref_types`).
    decided_ref_types: std::collections::HashSet<Box<[u8]>, foldhash::fast::FixedState>,
    /// Values that identify nothing for every rule: in any key, and per key
    /// (`rules/unidentifying_values.json`).
    pub unidentifying_any: Option<Regex>,
    pub unidentifying: Vec<(KeyId, Regex)>,
    /// Attributes the engine writes or partitions by: they describe no object of a resource.
    pub engine_keys: Vec<Box<[u8]>>,
    /// Which rules a resource can match, by the keys it carries.
    pub index: RuleIndex,
}

impl RuleSet {
    /// Whether a declared entity reference of this type is left to the rules: a rule has the
    /// type, or says the type is its entity under another name (`entity_ref_types`).
    pub fn decides_ref_type(&self, entity_type: &[u8]) -> bool {
        self.decided_ref_types.contains(entity_type)
    }
}
