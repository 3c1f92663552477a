//! The queue of entities whose description changed, for entity events (`engine::events`).

use crate::id::EntityId;
use parking_lot::Mutex;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

type FastState = foldhash::fast::FixedState;

/// A bounded queue of entities whose description changed, drained by the entity events
/// reporter. Off until a reporter asks; a full queue drops (and counts) what does not fit: the
/// periodic full report repairs it.
pub struct Changes {
    enabled: std::sync::atomic::AtomicBool,
    queue: Mutex<(std::collections::VecDeque<EntityId>, std::collections::HashSet<EntityId, FastState>)>,
    capacity: usize,
    pub dropped: AtomicU64,
}

impl Changes {
    pub(super) fn new(capacity: u64) -> Changes {
        Changes {
            enabled: std::sync::atomic::AtomicBool::new(false),
            queue: Mutex::default(),
            capacity: capacity.max(1) as usize,
            dropped: AtomicU64::new(0),
        }
    }

    pub fn enabled(&self) -> bool {
        self.enabled.load(Relaxed)
    }

    pub fn enable(&self) {
        self.enabled.store(true, Relaxed);
    }

    pub(super) fn push(&self, id: EntityId) {
        let mut guard = self.queue.lock();
        let (queue, queued) = &mut *guard;
        if queued.contains(&id) {
            return;
        }
        if queue.len() >= self.capacity {
            self.dropped.fetch_add(1, Relaxed);
            return;
        }
        queue.push_back(id);
        queued.insert(id);
    }

    /// Takes every queued entity, oldest first.
    pub fn drain(&self) -> Vec<EntityId> {
        let mut guard = self.queue.lock();
        guard.1.clear();
        guard.0.drain(..).collect()
    }
}
