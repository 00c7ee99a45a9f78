//! nodeprep prepares a Linux node for kube-proxy (IPVS, nftables or iptables mode).
//!
//! The flow: `probe` reads the node (under a root directory) → `plan` decides from what was
//! read and computes the actions → `apply` carries exactly those out → `report` prints text
//! or JSON. `run.rs` strings them together; `domain.rs` holds the words they share.

#![forbid(unsafe_code)]

pub mod ansible;
pub mod apply;
pub mod cli;
pub mod config;
pub mod docs;
pub mod domain;
pub mod entry;
pub mod exit;
pub mod plan;
pub mod probe;
pub mod report;
pub mod root;
pub mod run;
pub mod sandbox;
pub mod signals;
pub mod system;
pub mod text;
pub mod watch;
