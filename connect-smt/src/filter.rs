//! `Filter`: drops every record it is applied to; combine with a predicate (and `negate`) to drop
//! only some.

use connect_core::config::Props;
use connect_core::error::{ConfigError, ConnectError};
use connect_core::record::Record;
use connect_core::transform::Transformation;

/// See the [module docs](self).
#[derive(Debug, Default, Clone)]
pub struct Filter;

impl<R: Record> Transformation<R> for Filter {
    fn configure(&mut self, _props: &Props) -> Result<(), ConfigError> {
        Ok(())
    }
    fn apply(&self, _record: R) -> Result<Option<R>, ConnectError> {
        Ok(None)
    }
}
