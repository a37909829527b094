//! AdaGroup campaigns (method.md §7): the session state machine ([`adagroup`]), the affinity
//! estimated from subset-training results ([`aggregate`]), versioned checksummed checkpoints
//! ([`checkpoint`]), the evidence the subsets give for a grouping ([`evidence`]) and the trainer
//! seam ([`trainer`]).

pub mod adagroup;
pub mod aggregate;
pub mod checkpoint;
pub mod evidence;
pub mod trainer;
