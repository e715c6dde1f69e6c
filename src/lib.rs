//! dsc-helm: Helm charts as components of an Open Data Hub DataScienceCluster.
//!
//! Data flows one way: the [`registry`] (charts and descriptors) and a DSC stanza → values →
//! render (the `helm-render` crate) → manifests → apply and prune ([`reconcile`]) → status.
//! The [`webhook`] runs the same path as a dry run at admission; [`api`] holds the CRD
//! types and [`rbac`] the permissions the charts need; [`health`] judges, by kind, whether the
//! applied objects run, and names the cause from their pods when they do not.

pub mod api;
pub mod health;
pub mod rbac;
pub mod reconcile;
pub mod registry;
pub mod webhook;

/// Declared here rather than in `main.rs` so that the benchmarks and tests, which link this
/// library, measure the allocator the product ships with (see Cargo.toml).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay`: its place in mimalloc's `mi_option_e` (the same in its
/// v2 and v3), which libmimalloc-sys does not name.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// How long freed memory may stay with the allocator before it goes back to the system.
/// mimalloc's default (a second, and ten times that for whole arenas) keeps each burst's
/// garbage (a reconcile, an admission request) resident long after it; immediate return
/// costs chart loading a fifth of its speed, because every large buffer is then faulted in
/// afresh. 50 ms keeps memory within a burst and returns it between bursts.
const PURGE_DELAY_MS: std::ffi::c_long = 50;

/// Makes the allocator give freed memory back to the system soon after a burst of work (see
/// [`PURGE_DELAY_MS`]). The binary calls this first thing, and so do the benchmarks that
/// measure it.
pub fn return_freed_memory_promptly() {
    // SAFETY: sets one of mimalloc's integer options; any value is valid at any time.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, PURGE_DELAY_MS) }
}

#[cfg(test)]
mod allocator_tests {
    /// The option number names the purge delay: its default (1000 ms in mimalloc v3) is
    /// distinctive, and setting it reads back. Nothing else in the test process sets it.
    #[test]
    fn the_purge_delay_option_is_the_one_set() {
        // SAFETY: reads and sets one of mimalloc's integer options.
        let default = unsafe { libmimalloc_sys::mi_option_get(super::MI_OPTION_PURGE_DELAY) };
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
            assert_eq!(default, 1000);
        }
        super::return_freed_memory_promptly();
        // SAFETY: as above.
        let now = unsafe { libmimalloc_sys::mi_option_get(super::MI_OPTION_PURGE_DELAY) };
        assert_eq!(now, super::PURGE_DELAY_MS);
    }
}
