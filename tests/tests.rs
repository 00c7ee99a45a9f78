//! The one integration-test binary: the real `nodeprep` against fixture roots and, read-only,
//! against the machine running the tests.

mod ansible_module;
mod apply;
mod boundary;
mod check;
mod completion;
mod golden;
mod helper_runs;
mod host;
mod kube_config;
mod kubernetes;
mod layout;
mod man;
mod modes;
mod npd;
mod options;
mod parsers;
mod planner;
mod prediction;
mod prometheus;
mod report;
mod resolvers;
mod support;
mod toolbox;
mod trust;
mod usage;
mod verdict;
mod watch;
