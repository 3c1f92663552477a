//! How fragmented the telemetry is: for each entity, the distinct resources (attribute sets,
//! by hash) that described it, and its kind, so that "N resources became M entities" can be
//! charted by type. Counted since the entity was last created or restored: neither is in a
//! snapshot, so after a restart an entity counts again from the resources it is sent.

/// Most variants counted per entity: enough to tell one source from several.
pub const MAX_VARIANTS: usize = 8;

/// The kind of an entity: the index of the rule that decided it, or one of these.
pub type Kind = u16;
/// Decided by a declared entity reference of a type the rules do not know.
pub const DECLARED: Kind = Kind::MAX - 1;
/// Not seen since it was restored from a snapshot.
pub const UNKNOWN: Kind = Kind::MAX;

/// The distinct variants of one entity, by the low 32 bits of each resource's hash.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Variants {
    seen: [u32; MAX_VARIANTS],
    len: u8,
}

impl Variants {
    pub fn add(&mut self, variant: u32) {
        let len = self.len as usize;
        if len < MAX_VARIANTS && !self.seen[..len].contains(&variant) {
            self.seen[len] = variant;
            self.len += 1;
        }
    }

    pub fn len(&self) -> u64 {
        self.len as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_variants_metric_states_the_bound() {
        let spec = crate::stats::STATS.iter().find(|s| s.name == "resource_variants").unwrap();
        assert!(spec.description.contains(&format!("up to {MAX_VARIANTS} per entity")), "{}", spec.description);
    }

    #[test]
    fn variants_are_distinct_and_bounded() {
        let mut v = Variants::default();
        for x in [1, 2, 1, 3, 2] {
            v.add(x);
        }
        assert_eq!(v.len(), 3);
        for x in 10..100 {
            v.add(x);
        }
        assert_eq!(v.len(), MAX_VARIANTS as u64);
    }
}
