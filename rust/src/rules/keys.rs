//! The attribute keys rules refer to, interned once so that a resource is scanned once per batch
//! entry and rules compare small ids.

use crate::config::ConfigError;
use std::collections::HashMap;

/// Index of an attribute key that some rule refers to.
pub type KeyId = u16;

type FastMap<K, V> = HashMap<K, V, foldhash::fast::FixedState>;

/// The attribute keys rules refer to, so that a resource is scanned once per batch entry.
#[derive(Default, Debug)]
pub struct RuleKeys {
    ids: FastMap<Box<[u8]>, KeyId>,
    names: Vec<Box<str>>,
}

impl RuleKeys {
    pub(super) fn intern(&mut self, key: &str) -> Result<KeyId, ConfigError> {
        if let Some(id) = self.ids.get(key.as_bytes()) {
            return Ok(*id);
        }
        let id = KeyId::try_from(self.names.len())
            .map_err(|_| ConfigError("rules refer to more than 65535 distinct attribute keys".into()))?;
        self.ids.insert(key.as_bytes().into(), id);
        self.names.push(key.into());
        Ok(id)
    }

    #[inline]
    pub fn get(&self, key: &[u8]) -> Option<KeyId> {
        self.ids.get(key).copied()
    }

    pub fn name(&self, id: KeyId) -> &str {
        &self.names[id as usize]
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}
