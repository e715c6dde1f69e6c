//! Chart values: Helm's coalescing, `--set` parsing and schema validation.
