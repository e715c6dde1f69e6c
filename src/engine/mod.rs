//! Go's text/template, as Helm's engine runs it, with the Helm and Sprig function library.

pub mod funcs;
pub mod gofmt;
