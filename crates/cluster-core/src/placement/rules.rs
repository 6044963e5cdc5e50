//! Routing rules: regular expressions that name the part of a key that places it, for key
//! names a library chooses (`lock:NAME` and `lock-signal:NAME` of python-redis-lock land
//! together under `^lock(?:-signal)?:(.+)$`). A rule never renames: the key is stored under its
//! full name. Pure: compiled once from the config, matched on every key.
//!
//! Semantics (the same from Rust, Python and PHP, which all place keys here):
//! * rules are tried in the config's order and the first that matches wins;
//! * the route is the group named `route` if the rule has one, else its first group;
//! * a match whose route group is empty (or took no part) is no match: the next rule is tried;
//! * a key no rule matches follows the tag mode;
//! * rules are Rust `regex` syntax matched against the key's bytes with Unicode off: `.` is any
//!   byte but `\n`, classes are ASCII, `$` is the end of the key; unanchored unless the rule
//!   anchors itself (`^`, `$`).

use regex::bytes::{Regex, RegexBuilder};
use regex_syntax::hir::{Hir, HirKind};

/// The name of the group that, when a rule has it, is the route.
pub const ROUTE_GROUP: &str = "route";

/// A rule that cannot be used, named by its place in the list (1-based) and its text.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("routing rule {number} {rule:?}: {problem}")]
pub struct RuleError {
    pub number: usize,
    pub rule: String,
    pub problem: String,
}

/// One compiled rule and the index of its route group.
#[derive(Clone, Debug)]
struct Rule {
    regex: Regex,
    group: usize,
}

/// The rules of a config, in order; empty by default (then they cost one length check).
#[derive(Clone, Debug, Default)]
pub struct RoutingRules {
    rules: Vec<Rule>,
}

impl PartialEq for RoutingRules {
    fn eq(&self, other: &RoutingRules) -> bool {
        self.sources().eq(other.sources())
    }
}

impl RoutingRules {
    /// Compiles every rule, refusing the whole list at the first one that cannot route: a bad
    /// expression, one without a group, one whose route group can only match nothing.
    pub fn new<S: AsRef<str>>(rules: &[S]) -> Result<RoutingRules, RuleError> {
        let compiled = rules
            .iter()
            .enumerate()
            .map(|(at, rule)| compile(at + 1, rule.as_ref()))
            .collect::<Result<Vec<Rule>, RuleError>>()?;
        Ok(RoutingRules { rules: compiled })
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The rules' texts, in order.
    pub fn sources(&self) -> impl Iterator<Item = &str> {
        self.rules.iter().map(|r| r.regex.as_str())
    }

    /// The route of a key a rule matches, or `None` (then the tag mode places it).
    #[inline]
    pub fn route<'a>(&self, key: &'a [u8]) -> Option<&'a [u8]> {
        if self.rules.is_empty() {
            return None;
        }
        self.first_match(key).map(|(_, route)| route)
    }

    /// The rule that places a key (0-based) and the route it gives, if one does.
    pub fn first_match<'a>(&self, key: &'a [u8]) -> Option<(usize, &'a [u8])> {
        self.rules.iter().enumerate().find_map(|(at, rule)| {
            // `is_match` first: most keys match no rule, and it needs no capture slots.
            if !rule.regex.is_match(key) {
                return None;
            }
            let route = rule.regex.captures(key)?.get(rule.group)?.as_bytes();
            (!route.is_empty()).then_some((at, route))
        })
    }
}

fn compile(number: usize, rule: &str) -> Result<Rule, RuleError> {
    let error = |problem: String| RuleError {
        number,
        rule: rule.to_owned(),
        problem,
    };
    if rule.is_empty() {
        return Err(error("an empty rule routes nothing".to_owned()));
    }
    let regex = RegexBuilder::new(rule)
        .unicode(false)
        .build()
        .map_err(|e| error(format!("not a valid regular expression: {e}")))?;
    let group = match regex.capture_names().position(|n| n == Some(ROUTE_GROUP)) {
        Some(named) => named,
        None if regex.captures_len() > 1 => 1,
        None => {
            return Err(error(
                "no capture group: the route is the rule's first group (or the group named 'route'), e.g. ^lock:(.+)$"
                    .to_owned(),
            ));
        }
    };
    if route_is_always_empty(rule, group) {
        return Err(error(
            "its route group can only match an empty route".to_owned(),
        ));
    }
    Ok(Rule { regex, group })
}

/// Whether the capture group `group` of `rule` can match nothing but the empty string (the
/// expression itself is already known to compile).
fn route_is_always_empty(rule: &str, group: usize) -> bool {
    let parsed = regex_syntax::ParserBuilder::new()
        .unicode(false)
        .utf8(false)
        .build()
        .parse(rule);
    parsed.is_ok_and(|hir| {
        find_group(&hir, group).is_some_and(|g| g.properties().maximum_len() == Some(0))
    })
}

fn find_group(hir: &Hir, group: usize) -> Option<&Hir> {
    match hir.kind() {
        HirKind::Capture(capture) if capture.index as usize == group => Some(&capture.sub),
        HirKind::Capture(capture) => find_group(&capture.sub, group),
        HirKind::Repetition(repetition) => find_group(&repetition.sub, group),
        HirKind::Concat(parts) | HirKind::Alternation(parts) => {
            parts.iter().find_map(|part| find_group(part, group))
        }
        HirKind::Empty | HirKind::Literal(_) | HirKind::Class(_) | HirKind::Look(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_match_wins_and_a_rule_never_renames() {
        let rules =
            RoutingRules::new(&[r"^lock(?:-signal)?:(.+)$", r"^(?:x)(?P<route>y+)(z)"]).unwrap();
        assert_eq!(rules.route(b"lock:job"), Some(&b"job"[..]));
        assert_eq!(rules.route(b"lock-signal:job"), Some(&b"job"[..]));
        assert_eq!(rules.first_match(b"xyyz"), Some((1, &b"yy"[..])));
        assert_eq!(rules.route(b"lock:"), None, "an empty route is no match");
        assert_eq!(rules.route(b"other"), None);
        assert_eq!(
            rules.route(b"lock:\xff\xfe"),
            Some(&b"\xff\xfe"[..]),
            "any byte"
        );
    }

    #[test]
    fn bad_rules_are_named() {
        let bad = |rules: &[&str]| RoutingRules::new(rules).unwrap_err();
        assert_eq!(bad(&["^a:(.+)$", "("]).number, 2);
        assert!(bad(&["^lock:.+$"]).problem.contains("no capture group"));
        assert!(bad(&[""]).problem.contains("empty rule"));
        assert!(
            bad(&["^lock:()$"])
                .problem
                .contains("only match an empty route")
        );
        assert!(
            bad(&["^lock:(?P<route>)(.+)$"])
                .problem
                .contains("empty route")
        );
        assert!(
            RoutingRules::new(&["^lock:(a?)(.+)$"]).is_ok(),
            "may be empty: skipped when it is"
        );
    }
}
