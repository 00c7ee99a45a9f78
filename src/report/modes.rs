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
    // a reason every mode gives (nf_conntrack's condition) is said once, after the rows
    let rows: Vec<_> = kp.modes.rows().into_iter().collect();
    let shared: Vec<&String> = rows
        .first()
        .map(|(_, first)| {
            shown_reasons(&first.reasons)
                .filter(|r| rows.iter().all(|(_, row)| row.reasons.contains(r)))
                .collect()
        })
        .unwrap_or_default();
    let shared = if rows.len() > 1 { shared } else { vec![] };
    for (mode, row) in &rows {
        wrap_into(
            o,
            &format!("  {mode:<9} "),
            "            ",
            &row.outcome.sentence(mode),
        );
        for r in shown_reasons(&row.reasons).filter(|r| !shared.contains(r)) {
            wrap_into(o, "            ", "              ", &clean(r));
        }
    }
    for r in shared {
        wrap_into(o, "  every mode ", "              ", &clean(r));
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
