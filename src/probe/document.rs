//! nodeprep's own files as the probe hands them to the planner: the text, byte for byte, and
//! each line with what it says, parsed once here so the planner only reads.

use super::persist::parse_modules_load;
use super::sysctl;

/// A managed file as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// The whole text (see [`crate::text`] for bytes that are not UTF-8).
    pub text: String,
    pub lines: Vec<Line>,
}

/// One line and what it says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The line as written, without its newline.
    pub text: String,
    pub entry: Entry,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// A comment, a blank line, or a line that sets nothing.
    Other,
    /// modules-load.d: a module name (normalised: `-` is `_`).
    Module(String),
    /// sysctl.d: a key (path form), its value, and the key as the line spells it.
    Sysctl {
        key: String,
        value: String,
        written_key: String,
    },
}

impl Document {
    /// A modules-load.d file.
    pub fn modules(text: &str) -> Document {
        Document::parse(text, |line| {
            match parse_modules_load(line).into_iter().next() {
                Some(name) => Entry::Module(name),
                None => Entry::Other,
            }
        })
    }

    /// A sysctl.d file.
    pub fn sysctls(text: &str) -> Document {
        Document::parse(text, |line| {
            match sysctl::parse("", line).entries.into_iter().next() {
                Some(e) => Entry::Sysctl {
                    key: e.key,
                    value: e.value,
                    written_key: line.split_once('=').map_or("", |(l, _)| l).trim().into(),
                },
                None => Entry::Other,
            }
        })
    }

    fn parse(text: &str, entry: impl Fn(&str) -> Entry) -> Document {
        Document {
            text: text.to_string(),
            lines: text
                .lines()
                .map(|l| Line {
                    text: l.to_string(),
                    entry: entry(l),
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_say_what_they_set() {
        // systemd-modules-load has no trailing comments: the whole line is the name
        let d = Document::modules("# c\nnf-conntrack\n\nip_vs # x\n");
        let entries: Vec<&Entry> = d.lines.iter().map(|l| &l.entry).collect();
        assert_eq!(
            entries,
            [
                &Entry::Other,
                &Entry::Module("nf_conntrack".into()),
                &Entry::Other,
                &Entry::Module("ip_vs # x".into()),
            ]
        );
        assert_eq!(d.lines[3].text, "ip_vs # x");
        let s = Document::sysctls("net.ipv4.ip_forward = 0\n; c\n");
        assert_eq!(
            s.lines[0].entry,
            Entry::Sysctl {
                key: "net/ipv4/ip_forward".into(),
                value: "0".into(),
                written_key: "net.ipv4.ip_forward".into()
            }
        );
        assert_eq!(s.lines[1].entry, Entry::Other);
        assert_eq!(s.text, "net.ipv4.ip_forward = 0\n; c\n");
    }
}
