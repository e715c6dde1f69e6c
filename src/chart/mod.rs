//! Helm charts: loading archives and directories, and processing dependencies.
