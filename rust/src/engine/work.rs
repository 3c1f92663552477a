//! The working memory of a batch's misses, kept from one batch to the next.
//!
//! A batch makes its working memory at its first miss. Under held answers most batches that
//! miss at all miss once (a new pod among resources the processor holds), so a lone miss paid
//! for making it and growing its buffers: 17 of its 35 allocations and about a sixth of its time
//! (`profile_miss`, 100k entities). So a batch takes the working memory a past batch left
//! (`Spare`) and leaves its own for the next.
//!
//! The memory borrows from its batch while in use; it is kept with nothing borrowed, its
//! buffers emptied but not freed.

use crate::answers::cache::CompactScratch;
use crate::resource::recycle;
use crate::rules::RuleSet;
use crate::rules::matcher::MatchScratch;
use crate::wire::ResourceView;
use parking_lot::Mutex;

/// Most working memories kept: about as many as batches run at once.
const MAX_SPARE: usize = 16;

/// Per-batch working memory.
pub(super) struct Work<'a> {
    pub view: ResourceView<'a>,
    pub scratch: MatchScratch<'a>,
    pub derived_values: Vec<u8>,
    pub fills: Vec<u8>,
    pub fill_spans: Vec<(usize, usize, usize)>,
    pub container_tags: Vec<u64>,
    /// Which variant of its entity the resource is: the low bits of its bytes' hash.
    pub variant: u32,
    /// The entity's identifying keys and values as this resource shows them, while entity
    /// events are published (empty otherwise, or when the id came through a link).
    pub identity_parts: Vec<(String, String)>,
    /// The name of the resource's partition (empty: the unnamed one), which its entity's events
    /// are sent under.
    pub partition_name: Vec<u8>,
    /// For storing answers compact in the cache.
    pub compact: CompactScratch,
    /// The answer writer's buffer for one resource, lent to the writer while the batch runs
    /// (`ResultWriter::swap_answer_buffer`).
    pub answer: Vec<u8>,
    /// The attributes to pool, as `decide::pool` gathers them.
    pub pool_attrs: Vec<(&'a [u8], &'a [u8])>,
}

impl<'a> Work<'a> {
    pub fn new(rules: &RuleSet) -> Work<'a> {
        Work {
            view: ResourceView::default(),
            scratch: MatchScratch::new(rules),
            derived_values: Vec::new(),
            fills: Vec::new(),
            fill_spans: Vec::new(),
            container_tags: Vec::new(),
            variant: 0,
            identity_parts: Vec::new(),
            partition_name: Vec::new(),
            compact: CompactScratch::default(),
            answer: Vec::new(),
            pool_attrs: Vec::new(),
        }
    }

    /// The same memory borrowing nothing. Every use of it writes what it reads first, so
    /// nothing of this batch reaches the next.
    fn unborrowed(self) -> Work<'static> {
        Work {
            view: ResourceView { attrs: recycle(self.view.attrs), entity_refs: recycle(self.view.entity_refs) },
            scratch: self.scratch.unborrowed(),
            derived_values: self.derived_values,
            fills: self.fills,
            fill_spans: self.fill_spans,
            container_tags: self.container_tags,
            variant: 0,
            identity_parts: self.identity_parts,
            partition_name: self.partition_name,
            compact: self.compact,
            answer: self.answer,
            pool_attrs: recycle(self.pool_attrs),
        }
    }
}

/// Working memories past batches left, for the next batches of one engine.
#[derive(Default)]
pub(super) struct Spare(Mutex<Vec<Work<'static>>>);

impl Spare {
    /// A past batch's working memory, or a new one.
    pub fn take<'a>(&self, rules: &RuleSet) -> Work<'a> {
        self.0.lock().pop().unwrap_or_else(|| Work::new(rules))
    }

    /// Keeps a batch's working memory for the next.
    pub fn keep(&self, work: Work<'_>) {
        let work = work.unborrowed();
        let mut spare = self.0.lock();
        if spare.len() < MAX_SPARE {
            spare.push(work);
        }
    }
}
