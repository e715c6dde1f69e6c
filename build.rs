//! Links the `dsc-helm` binary position-dependent (`-no-pie`), as Go links Helm's.
//!
//! Why: a position-independent build of this binary carries about 86,000 relative relocations
//! (vtables and tables of the Kubernetes, TLS and template code) that the dynamic loader
//! applies on every start, copying every page of `.data.rel.ro`. That was 3.6 ms of CPU and
//! 740 page faults before `main` for every `dsc-helm template` (1.1 ms and 245 without), on
//! a command whose whole run is 20-60 ms. Shared libraries, the heap and the stack stay
//! randomised; only the executable's own addresses are fixed. Test binaries are untouched.
fn main() {
    println!("cargo:rustc-link-arg-bins=-no-pie");
}
