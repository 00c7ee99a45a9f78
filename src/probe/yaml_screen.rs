//! What a KubeProxyConfiguration never holds, refused before the YAML parser sees the text:
//! anchors and aliases (`&a`, `*a`: an alias bomb expands a few KB into gigabytes, and
//! kubectl and kubeadm never write them), and flow collections nested deeper than
//! [`FLOW_DEPTH`] (the parser scans `[[[…` in more than quadratic time before its own depth
//! limit). One pass over the text, linear in its length.

/// Deeper `[`/`{` nesting than any configuration needs (kube-proxy's are one or two deep).
pub const FLOW_DEPTH: usize = 32;

/// Why the text is refused, and on which 1-based line.
#[derive(Debug, PartialEq, Eq)]
pub struct Refused {
    pub line: usize,
    pub why: &'static str,
}

enum Quote {
    None,
    Single,
    Double,
}

/// One character inside a quoted scalar: the quote it leaves the scanner in (an escaped or
/// doubled quote character does not end it).
fn in_quote(quote: Quote, c: char, rest: &mut std::iter::Peekable<std::str::Chars>) -> Quote {
    match (quote, c) {
        (Quote::Double, '\\') => {
            rest.next();
            Quote::Double
        }
        (Quote::Double, '"') => Quote::None,
        (Quote::Single, '\'') if rest.peek() == Some(&'\'') => {
            rest.next();
            Quote::Single
        }
        (Quote::Single, '\'') => Quote::None,
        (q, _) => q,
    }
}

/// Ok when the text holds no anchor or alias and no flow nesting deeper than [`FLOW_DEPTH`].
pub fn screen(text: &str) -> Result<(), Refused> {
    let mut quote = Quote::None;
    let mut flow = 0usize;
    // the indentation of the line that began a block scalar (`|`, `>`): deeper lines are its text
    let mut block_scalar: Option<usize> = None;
    for (i, line) in text.lines().enumerate() {
        let number = i + 1;
        let indent = line.len() - line.trim_start_matches(' ').len();
        if let Some(parent) = block_scalar {
            if line.trim().is_empty() || indent > parent {
                continue;
            }
            block_scalar = None;
        }
        // a node may start at the beginning of a line (after the indentation)
        let mut node_start = matches!(quote, Quote::None);
        let mut prev = ' ';
        let mut chars = line[indent..].chars().peekable();
        while let Some(c) = chars.next() {
            if !matches!(quote, Quote::None) {
                quote = in_quote(quote, c, &mut chars);
                prev = c;
                continue;
            }
            let next_blank = chars.peek().is_none_or(|n| n.is_whitespace());
            match c {
                '#' if prev.is_whitespace() => break,
                '&' | '*' if node_start => {
                    return Err(Refused {
                        line: number,
                        why: if c == '&' {
                            "a YAML anchor (&name)"
                        } else {
                            "a YAML alias (*name)"
                        },
                    });
                }
                '"' if node_start => quote = Quote::Double,
                '\'' if node_start => quote = Quote::Single,
                '|' | '>' if node_start && flow == 0 => {
                    block_scalar = Some(indent);
                    break;
                }
                '[' | '{' => {
                    flow += 1;
                    if flow > FLOW_DEPTH {
                        return Err(Refused {
                            line: number,
                            why: "flow collections ([ or {) nested too deep",
                        });
                    }
                    node_start = true;
                    prev = c;
                    continue;
                }
                ']' | '}' => flow = flow.saturating_sub(1),
                ',' if flow > 0 => {
                    node_start = true;
                    prev = c;
                    continue;
                }
                '-' | '?' | ':' if next_blank && (node_start || c == ':') => {
                    node_start = true;
                    prev = c;
                    continue;
                }
                ':' if flow > 0 => {
                    node_start = true;
                    prev = c;
                    continue;
                }
                c if c.is_whitespace() => {
                    prev = c;
                    continue;
                }
                _ => {}
            }
            node_start = false;
            prev = c;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(text: &str) -> Option<(usize, &'static str)> {
        screen(text).err().map(|r| (r.line, r.why))
    }

    #[test]
    fn anchors_and_aliases_are_refused_where_they_stand() {
        let bomb = "a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n";
        assert_eq!(refused(bomb), Some((1, "a YAML anchor (&name)")));
        assert_eq!(
            refused("kind: KubeProxyConfiguration\nmode: *m\n"),
            Some((2, "a YAML alias (*name)"))
        );
        assert_eq!(
            refused("list:\n  - &x one\n"),
            Some((2, "a YAML anchor (&name)"))
        );
        assert_eq!(
            refused("m: {a: 1, b: *x}\n"),
            Some((1, "a YAML alias (*name)"))
        );
        assert_eq!(
            refused("? &k key\n: v\n"),
            Some((1, "a YAML anchor (&name)"))
        );
    }

    #[test]
    fn ampersands_and_stars_in_text_are_not_anchors() {
        for ok in [
            "kind: KubeProxyConfiguration\nmode: \"ipvs\"\n",
            "a: b&c\nd: 2*3\n",
            "a: \"*quoted\"\nb: '&single'\nc: 'it''s *'\n",
            "a: x # *comment &too\n",
            "data:\n  config.conf: |\n    *not: an alias here\n    &neither\n  other: 1\n",
            "a: >-\n  *folded\n\n  &text\nb: c\n",
            "url: http://x:8080/*\nlist: [a*, b&]\n",
            "a: \"multi\n  *line\"\n",
            "",
        ] {
            assert_eq!(screen(ok), Ok(()), "{ok}");
        }
        // a block scalar ends where the indentation comes back
        assert_eq!(
            refused("a: |\n  text\nb: *x\n"),
            Some((3, "a YAML alias (*name)"))
        );
    }

    #[test]
    fn deep_flow_nesting_is_refused_before_the_parser_sees_it() {
        let deep = "[".repeat(1 << 20);
        assert_eq!(
            refused(&deep),
            Some((1, "flow collections ([ or {) nested too deep"))
        );
        let fine = format!("a: {}{}\n", "[".repeat(FLOW_DEPTH), "]".repeat(FLOW_DEPTH));
        assert_eq!(screen(&fine), Ok(()));
        // brackets in quotes and comments do not count
        let quoted = format!("a: \"{}\" # {}\n", "[".repeat(100), "{".repeat(100));
        assert_eq!(screen(&quoted), Ok(()));
    }
}
