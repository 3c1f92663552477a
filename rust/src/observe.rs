//! What the engine decides for one resource, told as it decides it: the hooks `explain` listens
//! on. The engine calls them from the code that makes each decision, so an explanation can never
//! differ from what the engine did. In the processor nobody listens (`Quiet`): `ENABLED` is a
//! constant, so the hooks and the work done only for them compile away.

use crate::id::EntityId;

/// How a resource was identified.
#[derive(Debug, Clone, PartialEq)]
pub enum Matched {
    /// By a rule (index into the rule set), with the identity alternative used and its parts.
    Rule { rule: usize, alternative: usize, parts: Vec<(String, String)> },
    /// By an entity reference the resource declares, of a type the rules do not decide.
    EntityRef { entity_type: String, id_keys: Vec<String> },
}

/// Why a link changed the resource's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkKind {
    /// Another identity of the same entity, seen with it on one resource (a pod's name and uid).
    Alias,
    /// A containing entity (a container's pod), seen with it on one resource.
    Promotion,
}

/// What became of an attribute a resource reported, when it was pooled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reported {
    /// Pooled for every resource of the entity.
    Pooled,
    /// Pooled for the resource's container only.
    PooledForContainer,
    /// Not pooled: outside the rule's pooling scope.
    OutOfScope,
    /// Not pooled: `pooling.exclude` names it.
    Excluded,
    /// Not pooled: the value is blank (an empty string, array or map, or no value).
    Blank,
    /// Not pooled: the key or value is over its size bound, or the entity's pool or the key
    /// table is full.
    TooLarge,
}

/// Why an attribute the entity's sources reported was, or was not, given to the resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offer {
    Filled,
    /// The resource has a value of its own, which is kept.
    OwnValue,
    /// The entity's sources disagree on it.
    Ambiguous,
    /// It belongs to one container, and the resource speaks for another one or for none.
    ContainerScoped,
    /// Outside the scope of the rule the resource was matched by.
    OutOfScope,
}

pub trait Observer {
    /// Whether anyone listens. A constant, so that a quiet engine does no work for the hooks.
    const ENABLED: bool;
    fn matched(&mut self, _how: Matched, _derived: &[(&[u8], &[u8])]) {}
    /// The resource's own identity `from` led, through a link, to entity `to`.
    fn followed(&mut self, _kind: LinkKind, _from: EntityId, _to: EntityId) {}
    /// The entity the resource belongs to, as stored (its id, in its partition).
    fn entity(&mut self, _id: EntityId) {}
    /// The keys and values by which the resource names its container (empty: it names none),
    /// for a rule whose entity is made of containers.
    fn container(&mut self, _naming: Vec<(String, String)>) {}
    /// An identity of the resource (its keys and values) links to two entities: the link was
    /// not followed, or not recorded.
    fn ambiguous_link(&mut self, _identity: Vec<(String, String)>) {}
    fn reported(&mut self, _key: &[u8], _value: &[u8], _fate: Reported) {}
    fn offered(&mut self, _key: &[u8], _value: Option<&[u8]>, _offer: Offer) {}
}

/// Nobody listens: the processor's engine.
pub struct Quiet;

impl Observer for Quiet {
    const ENABLED: bool = false;
}
