//! Keys every CDC connector shares, and the Debezium 1.x names that still work.

use connect_core::config::Props;

/// Debezium 1.x key names and the keys that replaced them. A config using an old name keeps working;
/// the task logs a warning naming the new key.
pub const LEGACY_KEYS: &[(&str, &str)] = &[
    ("database.server.name", "topic.prefix"),
    (
        "database.history.kafka.bootstrap.servers",
        "schema.history.internal.kafka.bootstrap.servers",
    ),
    (
        "database.history.kafka.topic",
        "schema.history.internal.kafka.topic",
    ),
    (
        "database.history.kafka.recovery.poll.interval.ms",
        "schema.history.internal.kafka.recovery.poll.interval.ms",
    ),
    (
        "database.history.kafka.recovery.attempts",
        "schema.history.internal.kafka.recovery.attempts",
    ),
    ("database.history", "schema.history.internal"),
    (
        "database.history.file.filename",
        "schema.history.internal.file.filename",
    ),
    (
        "database.history.skip.unparseable.ddl",
        "schema.history.internal.skip.unparseable.ddl",
    ),
    (
        "database.history.store.only.captured.tables.ddl",
        "schema.history.internal.store.only.captured.tables.ddl",
    ),
    ("database.whitelist", "database.include.list"),
    ("database.blacklist", "database.exclude.list"),
    ("table.whitelist", "table.include.list"),
    ("table.blacklist", "table.exclude.list"),
    ("column.whitelist", "column.include.list"),
    ("column.blacklist", "column.exclude.list"),
];

/// Java class names of Debezium's schema history stores, and what they mean here.
pub const KAFKA_HISTORY_CLASSES: &[&str] = &[
    "io.debezium.storage.kafka.history.KafkaSchemaHistory",
    "io.debezium.relational.history.KafkaDatabaseHistory",
];
/// File-based history classes.
pub const FILE_HISTORY_CLASSES: &[&str] = &[
    "io.debezium.storage.file.history.FileSchemaHistory",
    "io.debezium.relational.history.FileDatabaseHistory",
];
/// In-memory history classes (lost on restart: tests and demos only).
pub const MEMORY_HISTORY_CLASSES: &[&str] = &[
    "io.debezium.relational.history.MemorySchemaHistory",
    "io.debezium.relational.history.MemoryDatabaseHistory",
];

/// Rewrites legacy keys to their current names. Returns the rewritten config and, per legacy key
/// used, `(old, new)`; when both are set, the current key wins.
pub fn normalize_legacy_keys(props: &Props) -> (Props, Vec<(&'static str, &'static str)>) {
    let mut out = props.clone();
    let mut used = Vec::new();
    for (old, new) in LEGACY_KEYS {
        if let Some(v) = props.get(old) {
            used.push((*old, *new));
            out.remove(old);
            if !props.contains(new) {
                out.set(*new, v);
            }
        }
    }
    (out, used)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_legacy_keys_map_to_current_names() {
        let p = Props::new()
            .with("database.server.name", "clinical")
            .with("database.history.kafka.bootstrap.servers", "k:9092")
            .with("database.history.kafka.topic", "schema-changes.clinical")
            .with("table.whitelist", "a.b");
        let (n, used) = normalize_legacy_keys(&p);
        assert_eq!(n.get("topic.prefix"), Some("clinical"));
        assert_eq!(
            n.get("schema.history.internal.kafka.topic"),
            Some("schema-changes.clinical")
        );
        assert_eq!(n.get("table.include.list"), Some("a.b"));
        assert!(n.get("database.server.name").is_none());
        assert_eq!(used.len(), 4);
    }

    #[test]
    fn current_key_wins_over_legacy() {
        let p = Props::new()
            .with("database.server.name", "old")
            .with("topic.prefix", "new");
        let (n, _) = normalize_legacy_keys(&p);
        assert_eq!(n.get("topic.prefix"), Some("new"));
    }
}
