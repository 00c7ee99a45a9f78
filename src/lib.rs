//! nodeprep prepares a Linux node for kube-proxy's IPVS mode.
//!
//! The flow: `probe` reads the node (under a root directory) → `plan` decides, purely →
//! `apply` carries the actions out → `report` prints text or JSON.

pub mod ansible;
pub mod apply;
pub mod cli;
pub mod config;
pub mod docs;
pub mod domain;
pub mod exit;
pub mod plan;
pub mod probe;
pub mod report;
pub mod root;
pub mod run;
pub mod signals;
pub mod system;
pub mod text;
