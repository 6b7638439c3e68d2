#![allow(dead_code)]
pub mod bulk_proxy;
pub mod receiver;
