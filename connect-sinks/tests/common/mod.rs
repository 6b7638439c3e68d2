#![allow(dead_code)]
pub mod bulk_proxy;
pub mod fhir_proxy;
pub mod http1;
pub mod kafka;
pub mod receiver;
