//! The containers of one multi-container entity (a pod, an ECS task), and the values that
//! belong to each.
//!
//! Sources name a container by different keys: the SDK by `k8s.container.name`, kubeletstats by
//! that and `container.id`, a Docker detector by `container.name`. Each naming key and value is
//! a *tag* (a hash of the two). A container is the set of tags seen together on one resource:
//! a resource carrying tags of two known containers shows that they are one, and they merge
//! (their pools too, so a value they disagree on becomes ambiguous). Values of one container
//! never reach a resource that names another.
//!
//! Bounded: at most `MAX_TAGS` tags per entity; a resource whose tags find no container and
//! leave no room for a new one pools nothing per container, and so is filled with nothing that
//! belongs to a container.

#[cfg(test)]
use crate::state::pool::PoolKey;
use crate::state::pool::{MAX_CONTAINER_POOL_BYTES, Pool};

/// Most tags one entity remembers across its containers.
pub const MAX_TAGS: usize = 32;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Container {
    pub tags: Vec<u64>,
    pub pool: Pool,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Containers {
    list: Vec<Container>,
}

impl Containers {
    pub fn iter(&self) -> impl Iterator<Item = &Container> {
        self.list.iter()
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    fn tag_count(&self) -> usize {
        self.list.iter().map(|c| c.tags.len()).sum()
    }

    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.list.iter().map(|c| c.tags.len() * 8 + c.pool.heap_bytes()).sum()
    }

    /// Adds a container as restored from a snapshot (no merging), if there is room: returns
    /// whether there was.
    pub fn restore(&mut self, container: Container) -> bool {
        let room = self.tag_count() + container.tags.len() <= MAX_TAGS;
        if room {
            self.list.push(container);
        }
        room
    }

    /// The container a resource naming `tags` speaks for: the one that has any of the tags
    /// (several merge into one), or a new one when there is room. Records the tags. Returns the
    /// container, whether anything changed, and how many keys became ambiguous by a merge.
    pub fn for_tags(&mut self, tags: &[u64]) -> (Option<&mut Container>, bool, u32) {
        let mut hits = self.list.iter().enumerate().filter(|(_, c)| c.tags.iter().any(|t| tags.contains(t)));
        let Some((first, _)) = hits.next() else {
            if tags.is_empty() || self.tag_count() + tags.len() > MAX_TAGS {
                return (None, false, 0);
            }
            self.list.push(Container { tags: tags.to_vec(), pool: Pool::default() });
            return (self.list.last_mut(), true, 0);
        };
        let others: Vec<usize> = hits.map(|(i, _)| i).collect();
        let mut changed = false;
        let mut ambiguous = 0;
        // Highest index first, so that the indexes left to remove stay valid.
        for i in others.into_iter().rev() {
            let other = self.list.remove(i);
            let target = &mut self.list[first];
            target.tags.extend(other.tags);
            ambiguous += target.pool.absorb(&other.pool, MAX_CONTAINER_POOL_BYTES);
            changed = true;
        }
        let room = MAX_TAGS.saturating_sub(self.tag_count());
        let target = &mut self.list[first];
        let new: Vec<u64> = tags.iter().filter(|t| !target.tags.contains(t)).copied().take(room).collect();
        changed |= !new.is_empty();
        target.tags.extend(new);
        (Some(target), changed, ambiguous)
    }

    /// The container that has any of `tags`, if one does.
    pub fn find(&self, tags: &[u64]) -> Option<&Container> {
        self.list.iter().find(|c| c.tags.iter().any(|t| tags.contains(t)))
    }

    /// The pooled values of the container that has any of `tags`, if one does.
    #[cfg(test)]
    fn values_for(&self, tags: &[u64]) -> impl Iterator<Item = (PoolKey, Option<&[u8]>)> {
        self.find(tags).into_iter().flat_map(|c| c.pool.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pooled(c: &mut Containers, tags: &[u64], values: &[(PoolKey, &[u8])]) {
        let (container, _, _) = c.for_tags(tags);
        container.unwrap().pool.merge_all(values, MAX_CONTAINER_POOL_BYTES);
    }

    #[test]
    fn a_container_named_by_two_keys_meets_sources_naming_it_by_either() {
        let mut c = Containers::default();
        // The SDK names its container by name and id; the log agent by name only.
        pooled(&mut c, &[1, 2], &[(7, b"checkout")]);
        assert_eq!(c.values_for(&[1]).collect::<Vec<_>>(), vec![(7, Some(&b"checkout"[..]))]);
        assert_eq!(c.values_for(&[3]).count(), 0, "another container takes nothing");
    }

    #[test]
    fn a_resource_showing_two_tags_together_merges_their_containers() {
        let mut c = Containers::default();
        pooled(&mut c, &[1], &[(7, b"a")]);
        pooled(&mut c, &[2], &[(8, b"b")]);
        assert_eq!(c.len(), 2);
        let (_, changed, ambiguous) = c.for_tags(&[1, 2]);
        assert!(changed);
        assert_eq!(ambiguous, 0);
        assert_eq!(c.len(), 1);
        assert_eq!(c.values_for(&[2]).count(), 2);
    }

    #[test]
    fn merging_containers_that_disagree_makes_the_value_ambiguous() {
        let mut c = Containers::default();
        pooled(&mut c, &[1], &[(7, b"a")]);
        pooled(&mut c, &[2], &[(7, b"b")]);
        let (_, _, ambiguous) = c.for_tags(&[1, 2]);
        assert_eq!(ambiguous, 1);
        assert_eq!(c.values_for(&[1]).collect::<Vec<_>>(), vec![(7, None)]);
    }

    #[test]
    fn tags_are_bounded() {
        let mut c = Containers::default();
        for t in 0..(MAX_TAGS as u64) {
            assert!(c.for_tags(&[t]).0.is_some());
        }
        assert!(c.for_tags(&[1000]).0.is_none(), "no room for a new container");
        assert!(c.for_tags(&[0, 1001]).0.is_some(), "a known container is still found");
        assert_eq!(c.tag_count(), MAX_TAGS);
        assert!(c.for_tags(&[]).0.is_none());
    }
}
