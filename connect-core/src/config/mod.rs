//! Configuration: typed definitions, connector and worker configs, config providers, secrets.

mod connector;
mod def;
mod props;
mod provider;

pub use connector::{
    check_connector_name, common_connector_def, ConnectorConfig, ErrorPolicy, ErrorTolerance,
};
pub use def::{
    split_list, ConfigDef, ConfigKey, ConfigType, ConfigValue, Importance, ParsedConfig, Password,
    Validator,
};
pub use props::{is_sensitive_key, Props, REDACTED};
pub use provider::{
    ConfigProvider, ConfigProviders, DirectoryConfigProvider, EnvVarConfigProvider,
    FileConfigProvider,
};
