//! The migration table in the text report: what each proxy mode would do on this node.

use super::{clean, shown_reasons, wrap_into};
use crate::plan::KubeProxyVerdict;
use crate::plan::modes::display_name;

/// ```text
/// Proxy modes, kube-proxy 1.37 on this node now:
///   ipvs      will run in IPVS mode
///   nftables  will run in nftables mode
///   iptables  will run in iptables mode
/// ```
pub fn render(o: &mut String, kp: &KubeProxyVerdict) {
    o.push('\n');
    wrap_into(
        o,
        "",
        "  ",
        &format!("Proxy modes, kube-proxy {} on this node now:", kp.version),
    );
    for (mode, row) in kp.modes.rows() {
        wrap_into(
            o,
            &format!("  {mode:<9} "),
            "            ",
            &row.outcome.sentence(mode),
        );
        for r in shown_reasons(&row.reasons) {
            wrap_into(o, "            ", "              ", &clean(r));
        }
    }
}

/// The configured mode as the report names it: `iptables (mode is blank)` for a blank mode.
pub fn mode_label(mode: &str) -> String {
    if mode.is_empty() {
        "iptables (blank)".into()
    } else {
        display_name(mode).into()
    }
}
