//! Property tests for every parser of node files and inputs: random text drawn from each
//! format's own alphabet, a fixed seed and a fixed number of cases (bounded time in CI).
//! Every parser must return, never panic, and keep its invariants.

use nodeprep::config::Version;
use nodeprep::probe::kernel::{is_release, module_name_of, parse_release};
use nodeprep::probe::os::OsRelease;
use nodeprep::probe::persist::{ModprobeLine, parse_modprobe_d, parse_modules_load};
use nodeprep::probe::sysctl::{self, key_matches};
use nodeprep::probe::{dropins, kubeconfig};
use nodeprep::system::first_version;

const CASES: usize = 3000;

/// xorshift64*: deterministic, so a failure is reproducible from its case number.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545F4914F6CDD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    /// Up to `max` pieces, each a random piece of `alphabet` (words or single characters).
    fn text(&mut self, alphabet: &[&str], max: usize) -> String {
        let n = self.below(max + 1);
        (0..n)
            .map(|_| alphabet[self.below(alphabet.len())])
            .collect()
    }
}

const LINE: &[&str] = &[
    "\n",
    "\n",
    " ",
    "\t",
    "#",
    ";",
    "=",
    "-",
    "_",
    ".",
    "/",
    "*",
    "?",
    ":",
    "ip_vs",
    "net",
    "ipv4",
    "1",
    "0",
    "\u{feff}",
    "é",
    "\u{10ff80}",
    "install",
    "blacklist",
    "/bin/true",
    "..",
    "kernel/",
    ".ko",
    ".ko.xz",
    "v",
    "1.30",
    "\r",
    "\"",
    "'",
    "{",
    "[",
    "kind:",
    "KubeProxyConfiguration",
    "mode:",
    "ipvs:",
    "  scheduler:",
    "---\n",
    "ID=",
    "debian",
];

#[test]
fn line_parsers_never_panic_and_keep_their_invariants() {
    let mut rng = Rng(0x9E3779B97F4A7C15);
    for case in 0..CASES {
        let t = rng.text(LINE, 40);
        let f = sysctl::parse("/x.conf", &t);
        for e in &f.entries {
            assert!(!e.key.starts_with('/'), "case {case}: {t:?} → {e:?}");
            assert!(
                e.line >= 1 && e.line <= t.lines().count(),
                "case {case}: {t:?}"
            );
        }
        for m in parse_modules_load(&t) {
            assert!(
                !m.contains('-') && !m.starts_with(['#', ';']) && !m.is_empty(),
                "case {case}: {t:?} → {m:?}"
            );
        }
        for l in parse_modprobe_d(&t) {
            let (ModprobeLine::Blacklist(m) | ModprobeLine::Install(m, _)) = l;
            assert!(!m.contains('-') && !m.is_empty(), "case {case}: {t:?}");
        }
        for (n, l) in dropins::config_lines(&t) {
            assert!(
                n >= 1 && !l.is_empty() && !l.starts_with(['#', ';']),
                "case {case}"
            );
        }
        let os = OsRelease::parse(&t);
        let _ = os.install_command(&["ipset"]);
        let _ = first_version(&t);
        let _ = module_name_of(&t);
        let _ = parse_release(&t);
        if is_release(&t) {
            assert!(
                !t.contains('/') && t != "." && t != "..",
                "case {case}: {t:?}"
            );
        }
        // a kube-proxy config: an error or a config, never a panic
        let _ = kubeconfig::parse("fuzz.yaml", &t);
    }
}

/// The obvious recursive matcher (exponential on many stars): the reference on short input.
fn naive(p: &[u8], k: &[u8]) -> bool {
    match (p.first(), k.first()) {
        (None, None) => true,
        (Some(b'*'), _) => {
            naive(&p[1..], k) || (!k.is_empty() && k[0] != b'/' && naive(p, &k[1..]))
        }
        (Some(b'?'), Some(c)) if *c != b'/' => naive(&p[1..], &k[1..]),
        (Some(a), Some(b)) if a == b => naive(&p[1..], &k[1..]),
        _ => false,
    }
}

#[test]
fn glob_matching_agrees_with_the_reference_matcher() {
    let mut rng = Rng(42);
    let pat = ["a", "b", "/", "*", "?", "*"];
    let key = ["a", "b", "/"];
    for case in 0..CASES * 3 {
        let p = rng.text(&pat, 8);
        let k = rng.text(&key, 8);
        assert_eq!(
            key_matches(&p, &k),
            naive(p.as_bytes(), k.as_bytes()),
            "case {case}: pattern {p:?} key {k:?}"
        );
    }
}

#[test]
fn sysctl_keys_that_pass_validation_stay_under_proc_sys() {
    let mut rng = Rng(7);
    let alphabet = ["net", "ipv4", ".", "/", "..", "a", "-", "_", "*", "%", " "];
    for case in 0..CASES {
        let k = rng.text(&alphabet, 10);
        let path = sysctl::normalize_key(&k);
        if let Some(live) = sysctl::live_path(&path) {
            let rest = live.strip_prefix("/proc/sys/").expect("under /proc/sys");
            assert!(
                rest.split('/')
                    .all(|c| !c.is_empty() && c != "." && c != ".."),
                "case {case}: {k:?} → {live}"
            );
        }
    }
}

#[test]
fn versions_parse_what_they_print() {
    let mut rng = Rng(99);
    for _ in 0..CASES {
        let v = Version::new(rng.below(3) as u32, rng.below(60) as u32);
        assert_eq!(Version::parse(&v.to_string()), Some(v));
        let patch = rng.below(20) as u32;
        let full = Version::parse(&format!("v{v}.{patch}-eks-1")).unwrap();
        assert_eq!((full.minor_only(), full.patch), (v, Some(patch)));
        assert_eq!(Version::parse(&full.release()), Some(full));
    }
    let mut rng = Rng(5);
    for _ in 0..CASES {
        let t = rng.text(&["v", "1", ".", "30", "-", "+", "x", " ", "2"], 8);
        let _ = Version::parse(&t);
    }
}

#[test]
fn managed_file_bytes_survive_decode_and_encode() {
    let mut rng = Rng(3);
    for case in 0..CASES {
        let n = rng.below(64);
        let bytes: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
        assert_eq!(
            nodeprep::text::encode(&nodeprep::text::decode(&bytes)),
            bytes,
            "case {case}"
        );
    }
}
