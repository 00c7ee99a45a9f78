//! `nodeprep check` on the machine running the tests: real root, read-only. What it must find
//! is read here independently from /proc, the module index and the kernel config, so the test
//! holds on any machine; the verdict is asserted where the kernel's index says IPVS is absent.

use std::path::Path;

use crate::support::*;

#[test]
fn check_on_this_machine_agrees_with_proc() {
    let r = nodeprep(&["--output", "json", "check"]);
    let v: serde_json::Value = serde_json::from_str(&r.stdout)
        .unwrap_or_else(|e| panic!("{e}: {} {}", r.stdout, r.stderr));
    assert_eq!(
        r.code,
        if v["ready"] == true { 0 } else { 1 },
        "{}",
        r.stderr
    );
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
    assert_eq!(v["kernel"]["release"], release.trim());
    let modules_supported = Path::new("/proc/modules").exists();
    assert_eq!(v["kernel"]["modules_supported"], modules_supported);
    let fwd = std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap();
    assert_eq!(sysctl(&v, "net.ipv4.ip_forward")["live"], fwd.trim());
    // every module's state, read here from the kernel's own index and config
    let index = ModuleIndex::read(release.trim());
    for row in v["modules"].as_array().expect("modules[]") {
        let name = row["name"].as_str().unwrap();
        assert_eq!(row["state"], index.state(name), "{name}: {row}");
    }
    if index.state("ip_vs") == "missing" {
        // a kernel without IPVS (the development machine): IPVS mode cannot run
        assert_eq!(v["ready"], false);
        assert_ne!(v["kube_proxy"]["outcome"], "ipvs");
        assert!(error_ids(&v).contains(&"KernelModule-ip_vs".to_string()));
    }
}

/// What the running kernel says about its modules: /proc/modules, the module index under
/// /lib/modules/<release> and the kernel config.
struct ModuleIndex {
    loaded: Option<String>,
    builtin: String,
    dep: String,
    config: String,
}

impl ModuleIndex {
    fn read(release: &str) -> ModuleIndex {
        let read = |p: &str| std::fs::read_to_string(p).ok();
        let dirs = [
            format!("/lib/modules/{release}"),
            format!("/usr/lib/modules/{release}"),
        ];
        let index = |f: &str| {
            dirs.iter()
                .find_map(|d| read(&format!("{d}/{f}")))
                .unwrap_or_default()
        };
        let gz = std::fs::File::open("/proc/config.gz").ok().map(|f| {
            let mut s = String::new();
            std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(f), &mut s).unwrap();
            s
        });
        let config = gz
            .or_else(|| read(&format!("/boot/config-{release}")))
            .or_else(|| dirs.iter().find_map(|d| read(&format!("{d}/config"))))
            .unwrap_or_default();
        ModuleIndex {
            loaded: read("/proc/modules"),
            builtin: index("modules.builtin"),
            dep: index("modules.dep"),
            config,
        }
    }

    /// `name` in modules.builtin (`kernel/…/ip_vs.ko`) or modules.dep (`…/ip_vs.ko.xz: deps`).
    fn listed(list: &str, name: &str) -> bool {
        list.lines().any(|l| {
            let file = l.split(':').next().unwrap_or("");
            let base = file.rsplit('/').next().unwrap_or("");
            let stem = base.split(".ko").next().unwrap_or("");
            stem.replace('-', "_") == name && base.contains(".ko")
        })
    }

    fn state(&self, name: &str) -> &'static str {
        let symbol = match name {
            "br_netfilter" => "CONFIG_BRIDGE_NETFILTER".to_string(),
            n => format!("CONFIG_{}", n.to_ascii_uppercase()),
        };
        let built_in = self.config.lines().any(|l| l == format!("{symbol}=y"));
        match &self.loaded {
            Some(m) if m.lines().any(|l| l.split(' ').next() == Some(name)) => "loaded",
            _ if built_in || Self::listed(&self.builtin, name) => "builtin",
            Some(_) if Self::listed(&self.dep, name) => "loadable",
            _ => "missing",
        }
    }
}

#[test]
fn text_check_on_this_machine_prints_a_report() {
    let r = nodeprep(&["check"]);
    assert!(r.code == 0 || r.code == 1, "{}", r.stderr);
    assert!(
        r.stdout.starts_with("nodeprep check: kernel "),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("[preflight] Running pre-flight checks"));
}
