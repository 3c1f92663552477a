//! A resource as the engine sees it: attributes and declared entity references, borrowed from
//! the request (`wire` reads them). Matching depends on these types, not on the transport.

/// One attribute value, borrowed from the input.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    Str(&'a [u8]),
    Bool(bool),
    Int(i64),
    Double(f64),
    Bytes(&'a [u8]),
    /// Encoded `ArrayValue`.
    Array(&'a [u8]),
    /// Encoded `KeyValueList`.
    KvList(&'a [u8]),
    /// No value set, or a oneof case this engine does not read (e.g. a profiles string index).
    Empty,
}

/// One resource attribute: key, decoded value, and the encoded `AnyValue` it came from, which
/// the engine pools and writes back verbatim so that every type survives unchanged.
#[derive(Debug, Clone, Copy)]
pub struct Attr<'a> {
    pub key: &'a [u8],
    pub value: Value<'a>,
    pub raw_value: &'a [u8],
}

/// `EntityRef` of a resource: the source's own statement of what it describes.
#[derive(Debug, Clone, Default)]
pub struct EntityRefView<'a> {
    pub entity_type: &'a [u8],
    pub id_keys: Vec<&'a [u8]>,
    pub description_keys: Vec<&'a [u8]>,
}

/// A decoded resource. Buffers are reused across the resources of a batch.
#[derive(Debug, Default)]
pub struct ResourceView<'a> {
    pub attrs: Vec<Attr<'a>>,
    pub entity_refs: Vec<EntityRefView<'a>>,
}

/// Longest encoded value that identifies or is pooled: no real identity is near it, and a
/// longer one is neither matched on nor kept.
pub const MAX_VALUE_BYTES: usize = 4096;

/// `v`'s buffer, emptied, for elements that borrow from elsewhere (or from nothing). Collecting
/// an emptied vector's iterator into a vector of a type of the same size and alignment reuses
/// its buffer (std collects such iterators in place); were it not to, this would allocate, not
/// misbehave.
pub(crate) fn recycle<T, U>(mut v: Vec<T>) -> Vec<U> {
    v.clear();
    v.into_iter().map(|_| unreachable!("the vector was emptied")).collect()
}

#[cfg(test)]
mod tests {
    use super::recycle;

    #[test]
    fn recycling_keeps_the_buffer() {
        let text = String::from("borrowed");
        let mut v: Vec<&str> = Vec::with_capacity(32);
        v.push(&text);
        let (ptr, cap) = (v.as_ptr() as usize, v.capacity());
        let kept: Vec<&'static str> = recycle(v);
        assert_eq!((kept.as_ptr() as usize, kept.capacity(), kept.len()), (ptr, cap, 0));
    }
}
