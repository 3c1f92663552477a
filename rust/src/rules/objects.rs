//! Which object an attribute describes, from the semantic conventions' entity registry
//! (`rules/entities.json`): the principle by which a coarse rule (a node, a namespace, a host)
//! refuses a resource that describes something else, for keys nobody listed too.
//!
//! An attribute describes, in this order:
//! - the entity types the registry lists it under (any role: `k8s.pod.name` describes a pod,
//!   though only its uid identifies it);
//! - else the longest registered entity type it is named under (`k8s.pod.label.app`: a pod;
//!   `host.cpu.model.name`: `host.cpu`); a key that is an entity type's own name describes that
//!   type (`container.runtime`);
//! - else, when its last segment names, identifies or locates something (`id`, `uid`, `name`,
//!   `arn`, `instance`, `endpoint`, `address`, or `…_id`, `…_uid`, `…_name`, `…_arn`,
//!   `…_endpoint`, `…_address`), the object named by the rest of the key (`k8s.object.uid`: a
//!   `k8s.object`; `mysql.instance.endpoint`: a `mysql.instance`; `server.address`: a `server`);
//! - else nothing: a descriptive key of no known object (`team`, `acme.cost_center`) keeps no
//!   rule from claiming a resource.

use std::collections::HashMap;

type FastMap<K, V> = HashMap<K, V, foldhash::fast::FixedState>;

/// Entity types that contain every other: their attributes may stand beside any entity's.
pub const AMBIENT: [&str; 2] = ["cloud", "deployment"];

#[derive(serde::Deserialize)]
struct RegistryFile {
    entities: std::collections::BTreeMap<String, RegistryEntity>,
}

#[derive(serde::Deserialize)]
struct RegistryEntity {
    identifying: Vec<String>,
    other: Vec<String>,
}

/// The entity registry, compiled for lookups by attribute key.
pub struct Objects {
    types: Vec<Box<str>>,
    by_type: FastMap<Box<[u8]>, u16>,
    /// Per registered attribute, the entity types it describes.
    owners: FastMap<Box<[u8]>, Vec<u16>>,
}

impl Objects {
    /// The registry of `rules/entities.json`.
    pub fn registry() -> &'static Objects {
        static REGISTRY: once_cell::sync::Lazy<Objects> = once_cell::sync::Lazy::new(|| {
            let file: RegistryFile = serde_json::from_str(include_str!("../../rules/entities.json"))
                .expect("rules/entities.json is valid (tested)");
            Objects::new(file.entities.iter().map(|(t, e)| (t.as_str(), e.identifying.iter().chain(&e.other))))
        });
        &REGISTRY
    }

    fn new<'s>(entities: impl Iterator<Item = (&'s str, impl Iterator<Item = &'s String>)>) -> Objects {
        let mut o = Objects { types: Vec::new(), by_type: FastMap::default(), owners: FastMap::default() };
        for (t, attrs) in entities {
            let index = o.types.len() as u16;
            o.types.push(t.into());
            o.by_type.insert(t.as_bytes().into(), index);
            for a in attrs {
                o.owners.entry(a.as_bytes().into()).or_default().push(index);
            }
        }
        o
    }

    /// The objects the attribute `key` describes: none, one, or (a key the registry lists under
    /// several entity types) each of those.
    pub fn of<'s>(&'s self, key: &'s [u8]) -> impl Iterator<Item = &'s [u8]> + 's {
        let (registered, named) = match self.owners.get(key) {
            Some(owners) => (&owners[..], None),
            None => (&[][..], self.named(key)),
        };
        registered.iter().map(|t| self.types[*t as usize].as_bytes()).chain(named)
    }

    /// The object an attribute the registry does not list describes, by its name.
    fn named<'k>(&self, key: &'k [u8]) -> Option<&'k [u8]> {
        if self.by_type.contains_key(key) {
            return Some(key);
        }
        let mut end = key.len();
        while let Some(dot) = key[..end].iter().rposition(|b| *b == b'.') {
            if self.by_type.contains_key(&key[..dot]) {
                return Some(&key[..dot]);
            }
            end = dot;
        }
        // A key of one segment names nothing: flat keys (`team_name`, `cluster_name`) are what
        // operators add to every resource, and naming objects by them would split a host's
        // resources from each other.
        let dot = key.iter().rposition(|b| *b == b'.')?;
        names_something(&key[dot + 1..]).then_some(&key[..dot])
    }
}

/// Whether a key's last segment names, identifies or locates its object.
fn names_something(segment: &[u8]) -> bool {
    const WORDS: [&[u8]; 7] = [b"id", b"uid", b"name", b"arn", b"endpoint", b"address", b"instance"];
    WORDS.contains(&segment)
        || WORDS[..6].iter().any(|w| {
            segment.len() > w.len() + 1 && segment.ends_with(w) && segment[segment.len() - w.len() - 1] == b'_'
        })
}

/// Whether `object` is `kind` or named under it (`k8s.node.system_container` is under `k8s.node`).
pub fn is_under(object: &[u8], kind: &[u8]) -> bool {
    object.starts_with(kind) && (object.len() == kind.len() || object[kind.len()] == b'.')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner(key: &str) -> Option<String> {
        let objects: Vec<String> =
            Objects::registry().of(key.as_bytes()).map(|o| String::from_utf8_lossy(o).into_owned()).collect();
        assert!(objects.len() <= 1, "{key}: {objects:?}");
        objects.into_iter().next()
    }

    #[test]
    fn attributes_describe_their_registered_object_or_the_one_they_name() {
        assert_eq!(owner("k8s.pod.name").as_deref(), Some("k8s.pod"));
        assert_eq!(owner("k8s.pod.label.app").as_deref(), Some("k8s.pod"));
        assert_eq!(owner("host.cpu.model.name").as_deref(), Some("host.cpu"));
        assert_eq!(owner("container.runtime").as_deref(), Some("container.runtime"));
        assert_eq!(owner("deployment.environment.name").as_deref(), Some("deployment"));
        assert_eq!(owner("k8s.object.uid").as_deref(), Some("k8s.object"));
        assert_eq!(owner("acme.team_name").as_deref(), Some("acme"));
        assert_eq!(owner("faas.instance").as_deref(), Some("faas"));
        assert_eq!(owner("mysql.instance.endpoint").as_deref(), Some("mysql.instance"));
        assert_eq!(owner("server.address").as_deref(), Some("server"));
        assert_eq!(owner("team_name"), None, "a flat key names no object");
        assert_eq!(owner("name"), None);
        assert_eq!(owner("k8s.object.kind"), None, "descriptive, of no known object");
        assert_eq!(owner("team"), None);
        assert_eq!(owner("k8s.kubelet.version"), None);
    }

    #[test]
    fn an_attribute_of_two_types_describes_both() {
        let objects: Vec<&[u8]> = Objects::registry().of(b"cloud.resource_id").collect();
        assert_eq!(objects, vec![&b"cloud"[..], &b"faas"[..]]);
    }

    #[test]
    fn under() {
        assert!(is_under(b"k8s.node", b"k8s.node"));
        assert!(is_under(b"k8s.node.system_container", b"k8s.node"));
        assert!(!is_under(b"k8s.nodepool", b"k8s.node"));
    }
}
