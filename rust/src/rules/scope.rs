//! Which attribute keys may be pooled: a rule's `pool` patterns with `pooling.include` and
//! `pooling.exclude` (`*`, `prefix.*` or an exact key).

/// Key patterns that may be pooled.
#[derive(Debug, Default, Clone)]
pub struct Scope {
    all: bool,
    exact: Vec<Box<[u8]>>,
    prefixes: Vec<Box<[u8]>>,
    excluded_exact: Vec<Box<[u8]>>,
    excluded_prefixes: Vec<Box<[u8]>>,
    /// The first bytes of `exact` and `prefixes`: a key that starts with none of them is
    /// rejected without being compared with each (most keys a resource shows are out of scope).
    first_bytes: FirstBytes,
}

/// A set of bytes; an empty pattern adds them all, as an empty prefix matches every key.
#[derive(Debug, Default, Clone)]
struct FirstBytes([u64; 4]);

impl FirstBytes {
    fn of<'p>(patterns: impl IntoIterator<Item = &'p Box<[u8]>>) -> FirstBytes {
        let mut set = FirstBytes::default();
        for p in patterns {
            match p.first() {
                Some(&b) => set.0[usize::from(b >> 6)] |= 1 << (b & 63),
                None => set.0 = [u64::MAX; 4],
            }
        }
        set
    }

    fn may_start(&self, key: &[u8]) -> bool {
        key.first().is_none_or(|&b| self.0[usize::from(b >> 6)] & (1 << (b & 63)) != 0)
    }
}

impl Scope {
    pub(crate) fn new(patterns: &[String], include: &[String], exclude: &[String]) -> Scope {
        let mut s = Scope::default();
        for p in patterns.iter().chain(include) {
            match pattern_kind(p) {
                Pattern::All => s.all = true,
                Pattern::Prefix(pre) => s.prefixes.push(pre.as_bytes().into()),
                Pattern::Exact(k) => s.exact.push(k.as_bytes().into()),
            }
        }
        for p in exclude {
            match pattern_kind(p) {
                Pattern::All => {
                    s = Scope::default();
                    return s;
                }
                Pattern::Prefix(pre) => s.excluded_prefixes.push(pre.as_bytes().into()),
                Pattern::Exact(k) => s.excluded_exact.push(k.as_bytes().into()),
            }
        }
        s.first_bytes = FirstBytes::of(s.exact.iter().chain(&s.prefixes));
        s
    }

    /// A scope of exactly these keys (an entity reference's description and id keys).
    pub fn of_keys<'k>(keys: impl IntoIterator<Item = &'k [u8]>, exclude: &Scope) -> Scope {
        let exact: Vec<Box<[u8]>> = keys.into_iter().map(Into::into).collect();
        Scope {
            first_bytes: FirstBytes::of(&exact),
            exact,
            excluded_exact: exclude.excluded_exact.clone(),
            excluded_prefixes: exclude.excluded_prefixes.clone(),
            ..Scope::default()
        }
    }

    pub fn allows(&self, key: &[u8]) -> bool {
        (self.all || self.first_bytes.may_start(key)) && self.allows_by_patterns(key)
    }

    /// `allows` as the patterns say, one by one.
    fn allows_by_patterns(&self, key: &[u8]) -> bool {
        let hit = |exact: &[Box<[u8]>], prefixes: &[Box<[u8]>]| {
            exact.iter().any(|e| **e == *key) || prefixes.iter().any(|p| key.starts_with(p))
        };
        (self.all || hit(&self.exact, &self.prefixes)) && !hit(&self.excluded_exact, &self.excluded_prefixes)
    }

    pub fn is_empty(&self) -> bool {
        !self.all && self.exact.is_empty() && self.prefixes.is_empty()
    }

    /// Whether the key is excluded (by `pooling.exclude`), whatever the scope includes.
    pub fn excludes(&self, key: &[u8]) -> bool {
        self.excluded_by(key).is_some()
    }

    /// The `pooling.exclude` pattern that excludes the key, as written (`explain`).
    pub fn excluded_by(&self, key: &[u8]) -> Option<String> {
        let exact = self.excluded_exact.iter().find(|e| ***e == *key).map(|e| lossy(e));
        exact.or_else(|| self.excluded_prefixes.iter().find(|p| key.starts_with(p)).map(|p| lossy(p) + "*"))
    }

    /// The patterns the scope pools, as written (`explain`).
    pub fn patterns(&self) -> Vec<String> {
        let all = self.all.then(|| "*".to_string());
        let exact = self.exact.iter().map(|e| lossy(e));
        all.into_iter().chain(self.prefixes.iter().map(|p| lossy(p) + "*")).chain(exact).collect()
    }
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

pub(super) enum Pattern<'p> {
    All,
    Prefix(&'p str),
    Exact(&'p str),
}

/// `*`, `prefix.*` (keeps the dot) or an exact key. Validated by `check_pattern`.
pub(super) fn pattern_kind(p: &str) -> Pattern<'_> {
    if p == "*" {
        Pattern::All
    } else if let Some(pre) = p.strip_suffix('*') {
        Pattern::Prefix(pre)
    } else {
        Pattern::Exact(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_byte_shortcut_changes_no_decision() {
        let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let scopes = [
            Scope::new(&strings(&["k8s.pod.*", "cloud.*", "service.name"]), &[], &strings(&["cloud.account.id"])),
            Scope::new(&strings(&["*"]), &[], &strings(&["k8s.*"])),
            Scope::new(&strings(&["", "é.*"]), &strings(&["x"]), &[]),
            Scope::new(&[], &[], &[]),
            Scope::of_keys([&b"k8s.pod.uid"[..], b""], &Scope::default()),
        ];
        let parts = ["", "k", "k8s.", "k8s.pod.", "uid", "cloud.", "account.id", "service.name", "é.", "x", "\u{0}"];
        for s in &scopes {
            for a in parts {
                for b in parts {
                    let key = format!("{a}{b}");
                    assert_eq!(s.allows(key.as_bytes()), s.allows_by_patterns(key.as_bytes()), "{key:?} in {s:?}");
                }
            }
        }
    }
}
