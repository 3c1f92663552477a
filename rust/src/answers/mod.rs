//! Answers for resources seen before: the result cache, what makes a cached answer still valid,
//! the compact form answers are kept in, the leases under which the processor applies answers
//! on its own, and how the hit path meets memory.

pub(crate) mod cache;
pub(crate) mod compact;
pub(crate) mod freshness;
pub(crate) mod lease;
pub(crate) mod memory;
