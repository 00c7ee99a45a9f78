//! The one integration-test binary: the real `nodeprep` against fixture roots and, read-only,
//! against the machine running the tests.

mod apply;
mod boundary;
mod check;
mod host;
mod kube_config;
mod parsers;
mod planner;
mod support;
mod toolbox;
mod usage;
mod verdict;
