//! The KubeProxyConfiguration a user points us at: the plain file kube-proxy reads, a kubeadm
//! config with several YAML documents, or `kubectl -n kube-system get cm kube-proxy -o yaml`.

use std::collections::BTreeMap;
use std::path::Path;

use std::os::unix::fs::OpenOptionsExt;

use anyhow::{Result, anyhow, bail};
use serde::Deserialize;
use yaml_serde::Value;

use crate::exit::UsageError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubeProxyConfig {
    pub path: String,
    /// `mode`; an empty mode means the platform default (iptables on Linux).
    pub mode: String,
    pub scheduler: Option<crate::domain::Scheduler>,
    pub strict_arp: Option<bool>,
    /// A kubeadm ClusterConfiguration's (or MasterConfiguration's) kubernetesVersion.
    pub kubernetes_version: Option<String>,
    /// `featureGates`: a map (1.10 and later) or the 1.8–1.9 string `A=true,B=false`.
    pub feature_gates: BTreeMap<String, bool>,
}

/// A KubeProxyConfiguration is a few KB; anything near this is not one.
pub const CONFIG_LIMIT: u64 = 1 << 20;

/// Reads the file named on the command line: it must be a regular, readable YAML file of
/// sane size holding a KubeProxyConfiguration. Every failure is a usage error (exit 64).
pub fn load(path: &Path) -> Result<KubeProxyConfig> {
    read_and_parse(path).map_err(|e| UsageError(format!("--kube-proxy-config {e:#}")).into())
}

/// `--kube-proxy-config root:PATH`: PATH under the root, read as every file there is (links
/// resolved inside the root, a regular file, capped).
pub fn load_in_root(root: &crate::root::Root, node: &str) -> Result<KubeProxyConfig> {
    let given = format!("root:{node}");
    let bytes = match root.read(node, CONFIG_LIMIT) {
        Ok(Some(b)) => b,
        Ok(None) => {
            return Err(UsageError(format!(
                "--kube-proxy-config {given}: {} does not exist; give the path of a KubeProxyConfiguration under --root",
                root.show(node)
            ))
            .into());
        }
        Err(e) => return Err(UsageError(format!("--kube-proxy-config {given}: {e:#}")).into()),
    };
    let text = String::from_utf8(bytes).map_err(|_| {
        UsageError(format!(
            "--kube-proxy-config {given}: not UTF-8 text; expected a YAML KubeProxyConfiguration"
        ))
    })?;
    parse(&root.show(node), &text)
        .map_err(|e| UsageError(format!("--kube-proxy-config {e:#}")).into())
}

fn read_and_parse(path: &Path) -> Result<KubeProxyConfig> {
    let shown = path.display();
    // O_NONBLOCK: opening a FIFO must not wait for a writer
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| {
            anyhow!("{shown}: cannot open it ({e}); give the path of a KubeProxyConfiguration file")
        })?;
    let meta = file
        .metadata()
        .map_err(|e| anyhow!("{shown}: cannot stat it ({e})"))?;
    if !meta.is_file() {
        bail!("{shown}: not a regular file; give the path of a KubeProxyConfiguration file");
    }
    let bytes = crate::root::read_capped(file, CONFIG_LIMIT)
        .map_err(|e| anyhow!("{shown}: cannot read it ({e})"))?;
    if bytes.len() as u64 > CONFIG_LIMIT {
        bail!("{shown}: larger than {CONFIG_LIMIT} bytes; that is not a KubeProxyConfiguration");
    }
    let text = String::from_utf8(bytes)
        .map_err(|_| anyhow!("{shown}: not UTF-8 text; expected a YAML KubeProxyConfiguration"))?;
    parse(&shown.to_string(), &text)
}

pub fn parse(name: &str, text: &str) -> Result<KubeProxyConfig> {
    if let Err(r) = super::yaml_screen::screen(text) {
        bail!(
            "{name}: line {}: {}; a KubeProxyConfiguration holds none (kubectl and kubeadm never write one): remove it",
            r.line,
            r.why
        );
    }
    let mut kinds = Vec::new();
    let mut found = None;
    let mut kubernetes_version = None;
    for doc in yaml_serde::Deserializer::from_str(text) {
        let value = Value::deserialize(doc).map_err(|e| yaml_error(name, "", &e))?;
        if let Some(v) = value
            .get("kubernetesVersion")
            .and_then(Value::as_str)
            .filter(|_| {
                matches!(
                    value.get("kind").and_then(Value::as_str),
                    Some("ClusterConfiguration" | "MasterConfiguration")
                )
            })
        {
            kubernetes_version = Some(v.to_string());
        }
        if found.is_none() {
            found = from_document(name, text, &value, &mut kinds)?;
        }
    }
    if let Some(mut found) = found {
        if found.kubernetes_version.is_none() {
            found.kubernetes_version = kubernetes_version;
        }
        return Ok(found);
    }
    let line = line_of(text, "kind:")
        .map(|l| format!(" line {l}:"))
        .unwrap_or_default();
    bail!(
        "{name}:{line} found {}; expected kind: KubeProxyConfiguration, a kubeadm config holding one, or the kube-proxy ConfigMap",
        if kinds.is_empty() {
            "no kind".to_string()
        } else {
            format!("kind {}", kinds.join(", "))
        }
    )
}

fn from_document(
    name: &str,
    text: &str,
    doc: &Value,
    kinds: &mut Vec<String>,
) -> Result<Option<KubeProxyConfig>> {
    let kind = doc.get("kind").and_then(Value::as_str).unwrap_or("");
    kinds.push(if kind.is_empty() {
        "(none)".into()
    } else {
        kind.to_string()
    });
    match kind {
        "KubeProxyConfiguration" => fields(name, text, doc).map(Some),
        // kubeadm v1alpha1 (Kubernetes 1.8–1.10), as in the seeds
        "MasterConfiguration" => match doc.get("kubeProxy").and_then(|k| k.get("config")) {
            Some(cfg) => fields(name, text, cfg).map(Some),
            None => Ok(None),
        },
        "ConfigMap" => {
            let Some(inner) = doc.get("data").and_then(|d| d.get("config.conf")) else {
                return Ok(None);
            };
            let inner = inner.as_str().ok_or_else(|| {
                anyhow!(
                    "{name}: data.config.conf must be a string holding the KubeProxyConfiguration"
                )
            })?;
            parse(&format!("{name} (data.config.conf)"), inner).map(Some)
        }
        _ => Ok(None),
    }
}

fn fields(name: &str, text: &str, doc: &Value) -> Result<KubeProxyConfig> {
    let wrong = |key: &str, want: &str| {
        let line = line_of(text, &format!("{key}:"))
            .map(|l| format!(" line {l}:"))
            .unwrap_or_default();
        anyhow!("{name}:{line} {key} must be {want}")
    };
    let mode = match doc.get("mode") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err(wrong("mode", "a string (ipvs, iptables, nftables)")),
    };
    let ipvs = doc.get("ipvs");
    let scheduler = match ipvs.and_then(|i| i.get("scheduler")) {
        None | Some(Value::Null) => None,
        // blank means kube-proxy's default
        Some(Value::String(s)) if s.is_empty() => None,
        Some(Value::String(s)) => match crate::domain::Scheduler::parse(s) {
            Ok(s) => Some(s),
            Err(why) => {
                return Err(wrong(
                    "scheduler",
                    &format!("an IPVS scheduler name ({why})"),
                ));
            }
        },
        Some(_) => return Err(wrong("scheduler", "a string such as rr")),
    };
    let strict_arp = match ipvs.and_then(|i| i.get("strictARP")) {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => return Err(wrong("strictARP", "true or false")),
    };
    let feature_gates = match doc.get("featureGates") {
        None | Some(Value::Null) => BTreeMap::new(),
        Some(Value::Mapping(m)) => {
            let mut gates = BTreeMap::new();
            for (k, v) in m {
                match (k.as_str(), v.as_bool()) {
                    (Some(k), Some(v)) => gates.insert(k.to_string(), v),
                    _ => {
                        return Err(wrong(
                            "featureGates",
                            "a map of gate names to true or false",
                        ));
                    }
                };
            }
            gates
        }
        Some(Value::String(s)) => parse_gate_string(s)
            .ok_or_else(|| wrong("featureGates", "Name=true,Other=false or a map"))?,
        Some(_) => {
            return Err(wrong(
                "featureGates",
                "a map of gate names to true or false",
            ));
        }
    };
    Ok(KubeProxyConfig {
        path: name.to_string(),
        mode,
        scheduler,
        strict_arp,
        kubernetes_version: None,
        feature_gates,
    })
}

/// The 1.8–1.9 form `SupportIPVSProxyMode=true,Other=false` (as `--feature-gates` takes it).
fn parse_gate_string(s: &str) -> Option<BTreeMap<String, bool>> {
    let mut gates = BTreeMap::new();
    for pair in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=')?;
        gates.insert(k.trim().to_string(), v.trim().parse().ok()?);
    }
    Some(gates)
}

fn yaml_error(name: &str, _ctx: &str, e: &yaml_serde::Error) -> anyhow::Error {
    match e.location() {
        Some(l) => anyhow!(
            "{name}: line {} column {}: not valid YAML ({e}); expected a KubeProxyConfiguration",
            l.line(),
            l.column()
        ),
        None => anyhow!("{name}: not valid YAML ({e}); expected a KubeProxyConfiguration"),
    }
}

/// The 1-based line where a key first appears at the start of a line (after indentation).
fn line_of(text: &str, key: &str) -> Option<usize> {
    text.lines()
        .position(|l| l.trim_start().starts_with(key))
        .map(|i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_config() {
        let c = parse("c", "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: ipvs\nipvs:\n  scheduler: lc\n  strictARP: false\n").unwrap();
        assert_eq!(
            (c.mode.as_str(), c.scheduler.as_deref(), c.strict_arp),
            ("ipvs", Some("lc"), Some(false))
        );
    }

    #[test]
    fn kubeadm_multi_document() {
        let t = "apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\n---\napiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: \"ipvs\"\n";
        let c = parse("c", t).unwrap();
        assert_eq!(c.mode, "ipvs");
        assert_eq!(c.scheduler, None);
    }

    #[test]
    fn configmap_and_seed_master_configuration() {
        let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kube-proxy\ndata:\n  config.conf: |-\n    apiVersion: kubeproxy.config.k8s.io/v1alpha1\n    kind: KubeProxyConfiguration\n    mode: ipvs\n    ipvs:\n      strictARP: true\n";
        let c = parse("cm", cm).unwrap();
        assert_eq!((c.mode.as_str(), c.strict_arp), ("ipvs", Some(true)));
        let seed = "kind: MasterConfiguration\napiVersion: kubeadm.k8s.io/v1alpha1\nkubeProxy:\n  config:\n    featureGates: SupportIPVSProxyMode=true\n    mode: ipvs\n";
        let s = parse("s", seed).unwrap();
        assert_eq!(s.mode, "ipvs");
        assert_eq!(s.feature_gates.get("SupportIPVSProxyMode"), Some(&true));
    }

    #[test]
    fn feature_gates_as_map_or_string() {
        let c = parse(
            "c",
            "kind: KubeProxyConfiguration\nmode: nftables\nfeatureGates:\n  NFTablesProxyMode: true\n  Other: false\n",
        )
        .unwrap();
        assert_eq!(c.feature_gates.get("NFTablesProxyMode"), Some(&true));
        assert_eq!(c.feature_gates.get("Other"), Some(&false));
        let c = parse(
            "c",
            "kind: KubeProxyConfiguration\nfeatureGates: \"A=true, B=false\"\n",
        )
        .unwrap();
        assert_eq!(c.feature_gates.len(), 2);
        assert_eq!(c.feature_gates.get("B"), Some(&false));
        assert!(
            parse("c", "kind: KubeProxyConfiguration\nmode: ipvs\n")
                .unwrap()
                .feature_gates
                .is_empty()
        );
        let e = parse(
            "f",
            "kind: KubeProxyConfiguration\nfeatureGates:\n  A: maybe\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("line 2: featureGates must be"), "{e}");
        let e = parse("f", "kind: KubeProxyConfiguration\nfeatureGates: A=yes\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("featureGates must be"), "{e}");
    }

    #[test]
    fn errors_name_the_file_line_and_expectation() {
        let e = parse("f.yaml", "kind: Deployment\nspec: {}\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("f.yaml: line 1:") && e.contains("expected kind: KubeProxyConfiguration"),
            "{e}"
        );
        let e = parse("f.yaml", "kind: KubeProxyConfiguration\nmode: [\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("f.yaml: line") && e.contains("not valid YAML"),
            "{e}"
        );
        let e = parse(
            "f.yaml",
            "kind: KubeProxyConfiguration\nipvs:\n  strictARP: maybe\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("line 3: strictARP must be true or false"), "{e}");
    }
}
