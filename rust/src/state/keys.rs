//! A shard's key table: the pooled attribute keys, each stored once and named by a number, with
//! the scope decisions taken for it so far.

use crate::clock::Stamp;
use crate::rules::Scope;
use crate::state::pool::PoolKey;
use std::collections::HashMap;

type FastState = foldhash::fast::FixedState;

/// Where a pooled key's values live and whom they may fill.
pub(super) enum KeyHome {
    /// The entity's pool: fills every resource of the entity.
    Entity,
    /// In the entity's pool, for agreement of every source: fills resources naming no container.
    /// Also per container: from resources that name theirs, in that container; from those that
    /// name none, which speak for the whole entity (pod-label service naming), in the entity's
    /// voice (`ENTITY_VOICE`). A container's own value fills its resources; where its sources
    /// reported none, the entity's voice does, when every source naming no container agreed.
    SharedWhenAgreed,
    /// Per container only.
    Container,
}

/// Longest attribute key that is pooled.
pub const MAX_KEY_BYTES: usize = 256;

/// A key of a shard's key table, with the scopes it has been checked against so far.
pub(super) struct KeyEntry {
    name: Box<[u8]>,
    checked: u64,
    allowed: u64,
    /// Per rule, whether the key's home (`KeyHome`) was decided, and what it is.
    homed: u64,
    container_scoped: u64,
    shared_when_agreed: u64,
}

/// A shard's key table: every key some pool of the shard holds, by number. Bounded by a count
/// (`capacity`) and a key length (`MAX_KEY_BYTES`); out-of-scope keys are never stored; keys that
/// no live entity uses any more are swept out when the table is full (`State::pool`), so that a
/// flood of junk keys ages out with its entities.
pub(super) struct PoolKeys {
    /// Key ids by the key's hash; the name is kept once, in `entries`.
    ids: HashMap<u64, PoolKey, FastState>,
    pub(super) entries: Vec<KeyEntry>,
    /// Ids of swept entries, to reuse.
    free: Vec<PoolKey>,
    pub(super) capacity: usize,
    /// When the table was last swept, and how many keys it took since: a full table is swept
    /// again in a new second, or after taking an eighth of its capacity, so that sweeping costs
    /// little per key however fast keys come.
    swept: Stamp,
    interned_since_sweep: usize,
}

impl KeyEntry {
    pub(super) fn new(name: &[u8]) -> KeyEntry {
        KeyEntry { name: name.into(), checked: 0, allowed: 0, homed: 0, container_scoped: 0, shared_when_agreed: 0 }
    }
}

fn key_hash(key: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(key)
}

impl PoolKeys {
    pub(super) fn new(capacity: usize) -> PoolKeys {
        PoolKeys {
            ids: HashMap::default(),
            entries: Vec::new(),
            free: Vec::new(),
            capacity,
            swept: 0,
            interned_since_sweep: 0,
        }
    }

    pub(super) fn get(&self, key: &[u8]) -> Option<PoolKey> {
        let id = *self.ids.get(&key_hash(key))?;
        (*self.entries[id as usize].name == *key).then_some(id)
    }

    /// The key's id, adding it if there is room; `None` for a key over `MAX_KEY_BYTES`, a full
    /// table, or (about once in 2^64) another key with the same hash.
    pub(super) fn intern(&mut self, key: &[u8]) -> Option<PoolKey> {
        let hash = key_hash(key);
        if let Some(id) = self.ids.get(&hash) {
            return (*self.entries[*id as usize].name == *key).then_some(*id);
        }
        if key.len() > MAX_KEY_BYTES || self.live() >= self.capacity {
            return None;
        }
        let id = match self.free.pop() {
            Some(id) => {
                self.entries[id as usize] = KeyEntry::new(key);
                id
            }
            None => {
                self.entries.push(KeyEntry::new(key));
                (self.entries.len() - 1) as PoolKey
            }
        };
        self.ids.insert(hash, id);
        self.interned_since_sweep += 1;
        Some(id)
    }

    pub(super) fn live(&self) -> usize {
        self.entries.len() - self.free.len()
    }

    /// Whether `more` new keys might not fit, and a sweep is due (see `swept`).
    pub(super) fn wants_sweep(&self, more: usize, now: Stamp) -> bool {
        self.live() + more > self.capacity && (self.swept != now || self.interned_since_sweep >= self.capacity / 8)
    }

    /// Frees every key no pool refers to (`refs`, per key id).
    pub(super) fn sweep(&mut self, refs: &[u32], now: Stamp) {
        self.swept = now;
        self.interned_since_sweep = 0;
        for id in 0..self.entries.len() {
            if refs.get(id).is_some_and(|r| *r > 0) || self.entries[id].name.is_empty() {
                continue;
            }
            self.ids.remove(&key_hash(&self.entries[id].name));
            self.entries[id] = KeyEntry::new(b"");
            self.free.push(id as PoolKey);
        }
    }

    pub(super) fn name(&self, id: PoolKey) -> &[u8] {
        &self.entries[id as usize].name
    }

    /// Whether `scope` allows the key; remembered per key for the first 64 rules (`rule_bit`).
    pub(super) fn allows(&mut self, id: PoolKey, scope: &Scope, scope_index: Option<usize>) -> bool {
        let e = &mut self.entries[id as usize];
        let Some(bit) = rule_bit(scope_index) else {
            return scope.allows(&e.name);
        };
        if e.checked & bit == 0 {
            e.checked |= bit;
            if scope.allows(&e.name) {
                e.allowed |= bit;
            }
        }
        e.allowed & bit != 0
    }

    /// Where the key's values live (`KeyHome`), as `decide` says for its name; remembered per key
    /// for the first 64 rules, as `allows` is.
    pub(super) fn home(
        &mut self,
        id: PoolKey,
        decide: impl Fn(&[u8]) -> KeyHome,
        scope_index: Option<usize>,
    ) -> KeyHome {
        let e = &mut self.entries[id as usize];
        let Some(bit) = rule_bit(scope_index) else {
            return decide(&e.name);
        };
        if e.homed & bit == 0 {
            e.homed |= bit;
            match decide(&e.name) {
                KeyHome::Entity => {}
                KeyHome::SharedWhenAgreed => {
                    e.container_scoped |= bit;
                    e.shared_when_agreed |= bit;
                }
                KeyHome::Container => e.container_scoped |= bit,
            }
        }
        match (e.container_scoped & bit != 0, e.shared_when_agreed & bit != 0) {
            (false, _) => KeyHome::Entity,
            (true, true) => KeyHome::SharedWhenAgreed,
            (true, false) => KeyHome::Container,
        }
    }
}

/// The bit of a rule in a key's per-rule decisions; the first 64 rules have one, later rules
/// (and entity references, which have no rule) are decided every time.
fn rule_bit(scope_index: Option<usize>) -> Option<u64> {
    scope_index.filter(|i| *i < 64).map(|i| 1u64 << i)
}
