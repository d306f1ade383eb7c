//! What Quire's scheduler and executors share: the object stores a query reads.

pub mod stores;
