//! Attribute values as JSON, for explanations.

use crate::resource::{ResourceView, Value};
use crate::wire::{list_values, read_any_value, read_resource};

/// An encoded `AnyValue` as JSON, for explanations: strings, numbers and booleans as such,
/// arrays and key-value lists as arrays and objects, bytes as lowercase hex.
pub fn any_value_json(raw: &[u8]) -> serde_json::Value {
    any_value_json_at(raw, 0)
}

/// How deep `any_value_json` follows arrays and maps; deeper values are shown as `null`, so that
/// a hostile value of 30,000 nested maps neither exhausts the stack nor fills the output.
pub const MAX_JSON_DEPTH: usize = 64;

fn any_value_json_at(raw: &[u8], depth: usize) -> serde_json::Value {
    use serde_json::Value as J;
    if depth > MAX_JSON_DEPTH {
        return J::Null;
    }
    match read_any_value(raw) {
        Ok(Value::Str(s)) => J::String(String::from_utf8_lossy(s).into_owned()),
        Ok(Value::Bool(b)) => J::Bool(b),
        Ok(Value::Int(i)) => J::from(i),
        Ok(Value::Double(d)) => serde_json::Number::from_f64(d).map_or(J::Null, J::Number),
        Ok(Value::Bytes(b)) => J::String(b.iter().map(|x| format!("{x:02x}")).collect()),
        Ok(Value::Array(a)) => J::Array(list_values(a).map(|v| any_value_json_at(v, depth + 1)).collect()),
        Ok(Value::KvList(l)) => {
            // A KeyValueList keeps its KeyValues in the field a Resource keeps its attributes in.
            let mut view = ResourceView::default();
            let _ = read_resource(l, &mut view);
            J::Object(
                view.attrs
                    .iter()
                    .map(|a| (String::from_utf8_lossy(a.key).into_owned(), any_value_json_at(a.raw_value, depth + 1)))
                    .collect(),
            )
        }
        Ok(Value::Empty) | Err(_) => J::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An AnyValue of `levels` maps, each holding the next under key "n", written back to front
    /// (prost's encoder would recurse as deep).
    fn nested_maps(levels: usize) -> Vec<u8> {
        fn prepend(rev: &mut Vec<u8>, tag: u8, len: usize) {
            let mut header = vec![tag];
            prost::encoding::encode_varint(len as u64, &mut header);
            rev.extend(header.iter().rev());
        }
        let mut rev: Vec<u8> = b"x".to_vec();
        prepend(&mut rev, 0x0a, 1); // AnyValue.string_value = "x"
        for _ in 0..levels {
            let value = rev.len();
            prepend(&mut rev, 0x12, value); // KeyValue.value
            rev.extend(b"n".iter().rev());
            prepend(&mut rev, 0x0a, 1); // KeyValue.key = "n"
            let kv = rev.len();
            prepend(&mut rev, 0x0a, kv); // KeyValueList.values
            let list = rev.len();
            prepend(&mut rev, 0x32, list); // AnyValue.kvlist_value
        }
        rev.reverse();
        rev
    }

    #[test]
    fn json_of_a_deeply_nested_value_stops_at_the_depth_bound() {
        let shallow = any_value_json(&nested_maps(2));
        assert_eq!(shallow, serde_json::json!({"n": {"n": "x"}}));
        let deep = any_value_json(&nested_maps(30_000));
        let mut depth = 0;
        let mut at = &deep;
        while let Some(next) = at.get("n") {
            depth += 1;
            at = next;
        }
        assert_eq!((depth, at), (MAX_JSON_DEPTH + 1, &serde_json::Value::Null));
    }
}
