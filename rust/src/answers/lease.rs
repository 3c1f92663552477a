//! What the processor may rely on without asking: a held answer's lease (`include/WIRE.md`,
//! "Leases"). The engine tells it with every answer the processor may hold, and the processor
//! then applies that answer on its own until the lease's time is up, while the entity's
//! change-stamp cell and the link epoch, which it reads in the engine's memory
//! (`re_engine_held_view`), are as the lease says: the very rule `Freshness::still_valid`
//! applies to the engine's own hits. Past the lease's time the processor names the answer to
//! the engine as before, which touches the entity when a touch is due (`Hit::touch`) and answers
//! with a new lease.

use crate::answers::freshness::{Counts, Freshness, Provenance};
use crate::clock::{STAMP_EPOCH_UNIX, Stamp};
use crate::wire::fields::{
    ENTRY_LEASE, LEASE_CELL, LEASE_DEFAULTED, LEASE_FILLED, LEASE_LINK_EPOCH, LEASE_MERGED, LEASE_MISROUTED,
    LEASE_STAMP, LEASE_UNTIL, LEN, VARINT, key,
};
use prost::encoding::encode_varint;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lease {
    /// The change-stamp cell of the entity whose pool the answer read, and the stamp it must
    /// still hold.
    pub cell: Option<(u64, u64)>,
    /// The link epoch that must still hold, when the id came through a link.
    pub link_epoch: Option<u64>,
    /// Unix seconds from which the processor must ask the engine again: the answer's next touch
    /// or its refresh, whichever comes first.
    pub until: u64,
    /// What a hit counts, so that the processor counts its own hits as the engine would.
    pub counts: Counts,
}

impl Lease {
    /// The lease of an answer computed from `p`, whose time is up at stamp `until`.
    pub fn of(p: &Provenance, freshness: &Freshness, until: Stamp) -> Lease {
        Lease {
            cell: p.entity.map(|(id, stamp)| (freshness.cell_index(id) as u64, stamp)),
            link_epoch: p.link_epoch,
            until: u64::from(until) + STAMP_EPOCH_UNIX,
            counts: p.counts,
        }
    }

    /// The lease as an entry field (`ENTRY_LEASE`), and its length.
    pub fn encode(&self) -> ([u8; MAX_LEASE_LEN], usize) {
        let mut out = [0u8; MAX_LEASE_LEN];
        let mut n = 2;
        let mut field = |tag: u8, value: u64| {
            out[n] = key(tag, VARINT);
            let mut rest = &mut out[n + 1..];
            let before = rest.len();
            encode_varint(value, &mut rest);
            n += 1 + before - rest.len();
        };
        if let Some((cell, stamp)) = self.cell {
            field(LEASE_CELL, cell);
            field(LEASE_STAMP, stamp);
        }
        if let Some(epoch) = self.link_epoch {
            field(LEASE_LINK_EPOCH, epoch);
        }
        field(LEASE_UNTIL, self.until);
        for (tag, value) in [
            (LEASE_FILLED, u64::from(self.counts.filled)),
            (LEASE_MERGED, u64::from(self.counts.merged)),
            (LEASE_DEFAULTED, u64::from(self.counts.defaulted)),
            (LEASE_MISROUTED, u64::from(self.counts.misrouted)),
        ] {
            if value != 0 {
                field(tag, value);
            }
        }
        out[0] = key(ENTRY_LEASE, LEN);
        out[1] = (n - 2) as u8; // under 0x80: one byte
        (out, n)
    }
}

/// The longest a lease's field can be: its key and length, four 64-bit varints, a 16-bit one and
/// three flags, each with its key.
pub const MAX_LEASE_LEN: usize = 2 + 4 * 11 + 4 + 3 * 2;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_largest_lease_fills_its_buffer_exactly() {
        let lease = Lease {
            cell: Some((u64::MAX, u64::MAX)),
            link_epoch: Some(u64::MAX),
            until: u64::MAX,
            counts: Counts { filled: u16::MAX, merged: true, defaulted: true, misrouted: true },
        };
        let (out, n) = lease.encode();
        assert_eq!(n, MAX_LEASE_LEN);
        assert_eq!(out[1] as usize, n - 2);
    }
}
