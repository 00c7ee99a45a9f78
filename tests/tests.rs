//! The one integration-test binary: the real `nodeprep` against fixture roots and, read-only,
//! against the machine running the tests.

mod ansible_module;
mod apply;
mod check;
mod completion;
mod host;
mod kube_config;
mod kubernetes;
mod man;
mod options;
mod report;
mod support;
mod usage;
mod verdict;
