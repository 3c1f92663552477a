//! The batch queue: each resource of a batch is hashed, and its cache set and change stamp asked
//! for, `AHEAD` resources before it is answered, from the result cache when a valid answer is
//! there, by the per-resource decisions (`decide`) when not.

use crate::clock::{Stamp, stamp};
use crate::config::Mode;
use crate::engine::{Engine, Tally, Work};
use crate::observe::{Observer, Quiet};
use crate::state::partitions::Partition;
use crate::wire::fields::{STATUS_HELD, STATUS_RESEND};
use crate::wire::{Attr, Entry, NO_VERSION, ResultWriter, WireError, for_each_entry, for_each_resource, read_resource};
use std::sync::atomic::Ordering::Relaxed;
use xxhash_rust::xxh3::xxh3_128;

/// How many resources of a batch are hashed, and their cache sets asked for, before they are
/// answered (`process_batch`).
const AHEAD: usize = 8;

impl Engine {
    /// Processes one batch (`LogsData`/`TracesData`/`MetricsData` bytes whose entries carry
    /// resources) at `now` (Unix seconds) and returns, as `LogsData` bytes, one entry per input
    /// resource whose resource carries the attributes to upsert.
    pub fn process(&self, batch: &[u8], now: u64) -> Result<Vec<u8>, WireError> {
        // Answers are usually a fraction of the resources they answer.
        let mut out = Vec::with_capacity(batch.len() / 2);
        self.process_into(batch, now, &mut out)?;
        Ok(out)
    }

    /// `process`, writing the answer into `out` (cleared first), so that a caller can reuse one
    /// buffer across batches and a warm call allocates nothing.
    pub fn process_into(&self, batch: &[u8], now: u64, out: &mut Vec<u8>) -> Result<(), WireError> {
        self.process_partition_into(b"", batch, now, out)
    }

    /// `process` for a batch of partition `partition` (a tenant, when the engine takes the
    /// partition from its caller: `partition.metadata` or `partition.auth`; empty when the
    /// caller could not tell, and ignored otherwise).
    pub fn process_partition(&self, partition: &[u8], batch: &[u8], now: u64) -> Result<Vec<u8>, WireError> {
        let mut out = Vec::with_capacity(batch.len() / 2);
        self.process_partition_into(partition, batch, now, &mut out)?;
        Ok(out)
    }

    /// `process_partition`, writing the answer into `out` as `process_into` does.
    pub fn process_partition_into(
        &self,
        partition: &[u8],
        batch: &[u8],
        now: u64,
        out: &mut Vec<u8>,
    ) -> Result<(), WireError> {
        out.clear();
        let mut writer = ResultWriter::over(std::mem::take(out));
        // Counted per batch and added once: shared counters bumped per resource would bounce
        // their cache line between the cores of concurrent callers.
        let mut tally = Tally::default();
        let now = stamp(now);
        let _ = self.started.compare_exchange(0, now, Relaxed, Relaxed);
        let partition = self.partitions.of_batch(partition, now);
        // Working memory for resources not answered from the cache, taken at the first of them
        // and kept for the next batch (`work`).
        let mut work = None;
        let result = self.process_batch(batch, partition, now, &mut writer, &mut tally, &mut work);
        if let Some(mut work) = work {
            writer.swap_answer_buffer(&mut work.answer);
            self.spare.keep(work);
        }
        *out = writer.finish();
        self.processed.fetch_add(tally.resources, Relaxed);
        if tally.defaulted > 0 {
            self.defaulted.fetch_add(tally.defaulted, Relaxed);
        }
        self.cache_hits.fetch_add(tally.cache_hits, Relaxed);
        if tally.filled > 0 {
            self.filled.fetch_add(tally.filled, Relaxed);
        }
        if tally.merges > 0 {
            self.merges.fetch_add(tally.merges, Relaxed);
        }
        if tally.overflow > 0 {
            self.overflow.fetch_add(tally.overflow, Relaxed);
        }
        if tally.oversized > 0 {
            self.oversized.fetch_add(tally.oversized, Relaxed);
        }
        if tally.misrouted > 0 {
            self.misrouted.fetch_add(tally.misrouted, Relaxed);
        }
        result
    }

    /// `partition` is the batch's and its name (`Partitions::of_batch`), or `None` when each
    /// resource names its own; `work` is taken at the batch's first miss.
    fn process_batch<'a>(
        &'a self,
        batch: &'a [u8],
        partition: Option<(Partition, &[u8])>,
        now: Stamp,
        out: &mut ResultWriter,
        tally: &mut Tally,
        work: &mut Option<Work<'a>>,
    ) -> Result<(), WireError> {
        // A hit reads three places that are rarely in the CPU's caches, each found from the
        // one before: the cache set, the slot, the entity's change stamp. Waiting for each in
        // turn was most of a hit's time, so resources are queued `AHEAD` deep and each is
        // prepared in stages as it moves up the queue: hashed and its set asked for on entry,
        // its slot asked for half-way, its entity's stamp three quarters of the way, and
        // answered when it leaves, by which time all three have arrived.
        let mut ahead = [(Entry::default(), 0u128); AHEAD];
        let mut queued = 0usize;
        for_each_entry(batch, |entry| {
            // The processor's key when it sent one (it holds answers under it), else the hash of
            // the resource's bytes. Either only finds answers: ids are computed from the bytes.
            let hash = entry.key.unwrap_or_else(|| xxh3_128(entry.resource.unwrap_or_default()));
            // A resource's own partition attribute is in its bytes; a batch's partition is not,
            // so it is mixed into the key: an answer is only ever reused within its partition.
            let key = match partition {
                Some((p, _)) => p.id(hash),
                None => hash,
            };
            self.cache.prefetch(key);
            let due = std::mem::replace(&mut ahead[queued % AHEAD], (entry, key));
            queued += 1;
            self.prepare(&ahead, queued, queued);
            if queued > AHEAD {
                self.answer(due, partition, now, out, tally, work)?;
            }
            Ok(())
        })?;
        for i in queued.saturating_sub(AHEAD)..queued {
            self.prepare(&ahead, i + 1 + AHEAD, queued);
            self.answer(ahead[i % AHEAD], partition, now, out, tally, work)?;
        }
        Ok(())
    }

    /// A resource's partition: the batch's, or the one its attribute names; its name goes to
    /// `work.partition_name`.
    fn partition_of(&self, batch: Option<(Partition, &[u8])>, work: &mut Work<'_>, now: Stamp) -> Partition {
        match batch {
            Some((partition, name)) => {
                work.partition_name.clear();
                work.partition_name.extend_from_slice(name);
                partition
            }
            None => self.partitions.of_resource(&work.view.attrs, now, &mut work.partition_name),
        }
    }

    /// The middle stages of `process_batch`'s queue, when `entered` resources would have
    /// entered it (past the batch's end while the queue drains) of the `total` that did.
    fn prepare(&self, ahead: &[(Entry<'_>, u128); AHEAD], entered: usize, total: usize) {
        let stage = |behind: usize| entered.checked_sub(1 + behind).filter(|i| *i < total).map(|i| ahead[i % AHEAD].1);
        if let Some(key) = stage(AHEAD / 2) {
            self.cache.prefetch_slot(key);
        }
        if let Some(entity) = stage(AHEAD * 3 / 4).and_then(|key| self.cache.entity_of(key)) {
            self.state.freshness().prefetch(entity);
        }
    }

    /// Answers one entry of a batch (and its cache key): from the cache when the cached answer
    /// still holds (naming it when the processor holds it), else afresh from the resource's
    /// bytes, else, when the entry came without them, by asking for them (`STATUS_RESEND`).
    fn answer<'a>(
        &'a self,
        (entry, key): (Entry<'a>, u128),
        partition: Option<(Partition, &[u8])>,
        now: Stamp,
        out: &mut ResultWriter,
        tally: &mut Tally,
        work: &mut Option<Work<'a>>,
    ) -> Result<(), WireError> {
        let mark = out.mark();
        let held = entry.key.map(|_| entry.held);
        let freshness = self.state.freshness();
        if let Some(hit) = self.cache.get(key, held, now, out, freshness) {
            if freshness.still_valid(&hit.provenance, hit.touch, |id| self.state.touch_entity(id, now)) {
                if hit.held && hit.touch {
                    // The touch moved the lease's time: the processor renews the one it holds.
                    let (lease, n) = hit.lease(freshness).encode();
                    out.put_status(STATUS_HELD, &lease[..n]);
                } else if hit.held {
                    // The lease the processor holds is unchanged (a named answer inside its lease
                    // time follows a resource the engine computed).
                    out.put_status(STATUS_HELD, &[]);
                }
                tally.resources += 1;
                tally.cache_hits += 1;
                tally.count(&hit.provenance.counts);
                return Ok(());
            }
            out.rollback(mark);
        }
        let Some(resource) = entry.resource else {
            // Counted when it comes back with its bytes.
            out.put_status(STATUS_RESEND, &[]);
            return Ok(());
        };
        tally.resources += 1;
        let work = work.get_or_insert_with(|| {
            let mut work = self.spare.take(&self.rules);
            out.swap_answer_buffer(&mut work.answer);
            work
        });
        read_resource(resource, &mut work.view)?;
        work.variant = xxh3_128(resource) as u32;
        let partition = self.partition_of(partition, work, now);
        let provenance = if self.config.mode == Mode::Route {
            self.route_resource(work, partition, now, out)
        } else {
            self.process_resource(work, partition, now, out, &mut Quiet)
        };
        tally.count(&provenance.counts);
        tally.oversized += u64::from(work.scratch.oversized);
        let stored = if partition.stateless {
            // Answered from nothing stored: a cached copy would outlive the partition's wait.
            tally.overflow += 1;
            None
        } else if self.warming_up(now) {
            // Answered without links: a cached copy would outlive the warm-up.
            None
        } else {
            self.cache.put(key, out.answer(), provenance, now, self.state.freshness(), &mut work.compact)
        };
        // A version, and its lease, are told only to a processor that sent a key: it names answers
        // by both.
        match stored.filter(|_| entry.key.is_some()) {
            Some((version, lease)) => {
                let (lease, n) = lease.encode();
                out.end_resource(version, &lease[..n]);
            }
            None => out.end_resource(NO_VERSION, &[]),
        }
        Ok(())
    }

    /// Processes a batch as `process_partition` does, but computes every resource afresh (an
    /// explanation is of a decision, not of a cached answer), telling `obs` each decision, and
    /// calls `each` after each resource with its attributes and its answer (`Resource` bytes).
    pub(crate) fn process_observed<O: Observer>(
        &self,
        partition: &[u8],
        batch: &[u8],
        now: u64,
        obs: &mut O,
        mut each: impl FnMut(&mut O, &[Attr<'_>], &[u8]),
    ) -> Result<(), WireError> {
        let now = stamp(now);
        let partition = self.partitions.of_batch(partition, now);
        let mut out = ResultWriter::new();
        let mut work = Work::new(&self.rules);
        for_each_resource(batch, |resource| {
            read_resource(resource, &mut work.view)?;
            work.variant = xxh3_128(resource) as u32;
            let partition = self.partition_of(partition, &mut work, now);
            self.process_resource(&mut work, partition, now, &mut out, obs);
            each(obs, &work.view.attrs, out.answer());
            out.end_resource(NO_VERSION, &[]);
            Ok(())
        })
    }
}
