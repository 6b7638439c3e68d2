//! Pipelines shared by the runnable examples and the tests that run them against real brokers.

pub mod playground;
pub mod quickstart;
