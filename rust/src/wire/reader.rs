//! The protobuf primitives requests are read with: a message's fields, one at a time, borrowing
//! from the input.

use crate::wire::fields::{FIXED32, FIXED64, LEN, VARINT};
use prost::encoding::decode_varint;

/// The input is not a well-formed protobuf message of the expected shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireError(pub &'static str);

impl std::fmt::Display for WireError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "malformed OTLP input: {}", self.0)
    }
}

pub(crate) enum Field<'a> {
    Varint(u64),
    Fixed64(u64),
    Len(&'a [u8]),
    Other,
}

/// Iterates over the fields of one message.
pub(crate) struct Fields<'a> {
    buf: &'a [u8],
}

/// A varint, with a fast path for the one-byte case (nearly every tag and length here).
#[inline(always)]
fn varint(buf: &mut &[u8]) -> Result<u64, WireError> {
    if let Some(&b) = buf.first()
        && b < 0x80
    {
        *buf = &buf[1..];
        return Ok(b as u64);
    }
    decode_varint(buf).map_err(|_| WireError("bad varint"))
}

impl<'a> Fields<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Fields { buf }
    }

    #[inline]
    pub(crate) fn next_field(&mut self) -> Result<Option<(u8, Field<'a>)>, WireError> {
        if self.buf.is_empty() {
            return Ok(None);
        }
        let key = varint(&mut self.buf)?;
        let tag = key >> 3;
        if tag == 0 {
            return Err(WireError("field number 0"));
        }
        let field = match (key & 7) as u8 {
            VARINT => Field::Varint(decode_varint(&mut self.buf).map_err(|_| WireError("bad varint"))?),
            FIXED64 => Field::Fixed64(u64::from_le_bytes(self.take(8)?.try_into().unwrap())),
            FIXED32 => {
                self.take(4)?;
                Field::Other
            }
            LEN => {
                let len = varint(&mut self.buf)?;
                let len = usize::try_from(len).map_err(|_| WireError("length overflows"))?;
                Field::Len(self.take(len)?)
            }
            _ => {
                return Err(WireError("unsupported wire type (groups are not used by OTLP)"));
            }
        };
        // Every field number this engine reads is below 16 (`fields`); larger ones read as 255,
        // which none is.
        Ok(Some((u8::try_from(tag).unwrap_or(u8::MAX), field)))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        if self.buf.len() < n {
            return Err(WireError("truncated message"));
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }
}
