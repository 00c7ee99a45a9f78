//! The one integration-test binary: the real `nodeprep` against fixture roots and, read-only,
//! against the machine running the tests.

mod apply;
mod check;
mod helper_runs;
mod host;
mod kube_config;
mod support;
mod usage;
mod verdict;
