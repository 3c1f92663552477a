//! Whether a cached answer still holds: the one owner of what an answer was computed from
//! (`Provenance`), of the counters that say what changed since (change stamps per entity cell,
//! the link epoch), and of the rule that compares them (`Freshness::still_valid`).
//!
//! Change stamps: entities map to cells by id; every change to an entity's pool, and every
//! entity's removal from memory, draws a fresh value from one counter for all entities and stores
//! it in the entity's cell, so that no cell ever holds a value twice. An answer records its
//! entity's cell before pooling and is valid while the cell is unchanged. Reading one cell is
//! cheaper than finding the entity in its shard: a cache hit does it for every resource. Entities
//! sharing a cell only cost a recomputation when one of them changes, so a new entity changes no
//! cell: no answer has read its pool yet, and the answers that read an earlier entity's pool under
//! its id went stale when that entity was removed. The link epoch changes whenever a link is
//! created, replaced, made ambiguous or forgotten wholesale.

use crate::clock::Stamp;
use crate::id::EntityId;
use std::sync::atomic::{
    AtomicU64,
    Ordering::{Acquire, Relaxed, Release},
};

/// A change stamp no cell ever holds (cells start at 1): "the answer read no pool".
pub const NO_STAMP: u64 = 0;
/// Every cell's value until its first change.
const FIRST_STAMP: u64 = NO_STAMP + 1;
/// A link epoch the counter never reaches in practice: "the id came through no link".
pub const NO_EPOCH: u64 = u64::MAX;

/// At most this many change-stamp cells (8 MiB), however large max_entities is: the array is
/// allocated up front, and entities sharing a cell only cost recomputations.
const MAX_CELLS: usize = 1 << 20;

/// What an answer was computed from, and what it counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Provenance {
    /// The entity whose pool the answer read, and its change stamp before it was read (never
    /// `NO_STAMP`).
    pub entity: Option<(EntityId, u64)>,
    /// The link epoch when the id was resolved through the link table, if it was.
    pub link_epoch: Option<u64>,
    pub computed: Stamp,
    pub counts: Counts,
}

/// What an answer counts each time it is given, whether computed or reused (`Tally::count`): the
/// one list of these, which a cached slot and a lease carry as they are.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Attributes filled from the entity's pool (at most `u16::MAX`, however many more were).
    pub filled: u16,
    pub merged: bool,
    /// Processed in the default partition because its own was absent.
    pub defaulted: bool,
    /// Came with a route key other than the one this engine computes for it (`Follow`).
    pub misrouted: bool,
}

impl Provenance {
    /// An answer computed at `now` from nothing yet.
    pub fn at(now: Stamp) -> Provenance {
        Provenance { entity: None, link_epoch: None, computed: now, counts: Counts::default() }
    }
}

pub struct Freshness {
    versions: AtomicU64,
    link_epoch: AtomicU64,
    cells: Box<[AtomicU64]>,
    cell_mask: u64,
}

impl Freshness {
    pub fn new(max_entities: u64) -> Freshness {
        let cells = (max_entities.min(MAX_CELLS as u64) as usize).next_power_of_two().max(64);
        Freshness {
            // Above every cell's first value, so that the first change changes a cell too.
            versions: AtomicU64::new(FIRST_STAMP + 1),
            link_epoch: AtomicU64::new(0),
            cells: (0..cells).map(|_| AtomicU64::new(FIRST_STAMP)).collect(),
            cell_mask: cells as u64 - 1,
        }
    }

    /// The index of entity `id`'s cell: what a lease names (`answers::lease`).
    pub fn cell_index(&self, id: EntityId) -> usize {
        // The high half: shards take the low bits.
        ((id >> 64) as u64 & self.cell_mask) as usize
    }

    /// The cells and the link epoch, for the processor to read as `still_valid` does (atomic
    /// loads): they live as long as the engine, at fixed addresses.
    pub fn cells_and_epoch(&self) -> (&[AtomicU64], &AtomicU64) {
        (&self.cells, &self.link_epoch)
    }

    /// The change stamp of entity `id`'s cell (never `NO_STAMP`).
    pub fn change_stamp(&self, id: EntityId) -> u64 {
        self.cells[self.cell_index(id)].load(Acquire)
    }

    /// Asks the CPU to load entity `id`'s cell, which a cache hit will read.
    pub fn prefetch(&self, id: EntityId) {
        crate::answers::memory::prefetch(&self.cells[self.cell_index(id)] as *const AtomicU64 as *const u8);
    }

    /// Records that entity `id`'s pool changed, or that the entity left memory (evicted, expired
    /// or forgotten): the answers that read its pool no longer hold.
    pub fn changed(&self, id: EntityId) {
        let version = self.versions.fetch_add(1, Relaxed);
        self.cells[self.cell_index(id)].store(version, Release);
    }

    /// Records that every entity left memory.
    pub fn all_changed(&self) {
        for cell in self.cells.iter() {
            cell.store(self.versions.fetch_add(1, Relaxed), Release);
        }
    }

    pub fn link_epoch(&self) -> u64 {
        self.link_epoch.load(Relaxed)
    }

    /// Records that a link was created, replaced or made ambiguous, or links were forgotten.
    pub fn links_changed(&self) {
        self.link_epoch.fetch_add(1, Relaxed);
    }

    /// Whether a cached answer still holds: its entity's cell and, where its id came through a
    /// link, the link epoch are as they were. That the entity is still in memory (an evicted one
    /// changes no cell) is checked by `touch`, which also marks it seen, when a touch is due
    /// (`Hit::touch`).
    pub fn still_valid(&self, seen: &Provenance, touch_due: bool, touch: impl FnOnce(EntityId) -> bool) -> bool {
        seen.link_epoch.is_none_or(|epoch| epoch == self.link_epoch())
            && seen.entity.is_none_or(|(id, stamp)| self.change_stamp(id) == stamp && (!touch_due || touch(id)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_change_changes_its_cell_the_first_too() {
        let f = Freshness::new(64);
        let mut seen = vec![f.change_stamp(7 << 64)];
        for _ in 0..3 {
            f.changed(7 << 64);
            seen.push(f.change_stamp(7 << 64));
        }
        f.all_changed();
        seen.push(f.change_stamp(7 << 64));
        let distinct: std::collections::BTreeSet<_> = seen.iter().collect();
        assert_eq!(distinct.len(), seen.len(), "{seen:?}");
        assert!(!seen.contains(&NO_STAMP));
    }
}
