//! Severity → priority: the one table that maps the severity an external alert source
//! reports (Alertmanager's `severity` label, Zabbix's numeric `event_nseverity`, PagerDuty
//! Events v2's `payload.severity`) to a ticket priority. Each row is a priority and, per
//! source, the severity words that map to it.

/// The alert sources whose severities the table knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeverityScheme {
    /// Alertmanager's `severity` label (free text, several common spellings).
    Alertmanager,
    /// Zabbix's `event_nseverity` (0–5).
    Zabbix,
    /// PagerDuty Events v2's `payload.severity`.
    PagerDuty,
}

/// One row per priority: (priority, Alertmanager words, Zabbix numbers, PagerDuty words).
type Row = (
    &'static str,
    &'static [&'static str],
    &'static [&'static str],
    &'static [&'static str],
);

const TABLE: &[Row] = &[
    (
        "P1",
        &["critical", "disaster", "page"],
        &["5"],
        &["critical"],
    ),
    ("P2", &["error", "high", "major"], &["4"], &["error"]),
    ("P3", &["warning", "average", "minor"], &["3"], &["warning"]),
    ("P4", &[], &[], &["info"]),
];

/// The priority for a severity the table lists for `scheme`, or `None` when it lists none.
pub fn listed_priority(scheme: SeverityScheme, severity: &str) -> Option<&'static str> {
    TABLE
        .iter()
        .find(|(_, am, zbx, pd)| {
            let words = match scheme {
                SeverityScheme::Alertmanager => am,
                SeverityScheme::Zabbix => zbx,
                SeverityScheme::PagerDuty => pd,
            };
            words.contains(&severity)
        })
        .map(|(p, ..)| *p)
}

/// The priority for an Alertmanager or Zabbix severity: a missing Alertmanager label
/// counts as `warning`; anything unlisted is the lowest priority, P4.
pub fn priority_or_lowest(scheme: SeverityScheme, severity: Option<&str>) -> &'static str {
    let severity = match (scheme, severity) {
        (SeverityScheme::Alertmanager, None) => Some("warning"),
        (_, s) => s,
    };
    severity
        .and_then(|s| listed_priority(scheme, s))
        .unwrap_or("P4")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alertmanager_words_missing_and_unknown() {
        let p = |s| priority_or_lowest(SeverityScheme::Alertmanager, s);
        assert_eq!(p(Some("critical")), "P1");
        assert_eq!(p(Some("disaster")), "P1");
        assert_eq!(p(Some("page")), "P1");
        assert_eq!(p(Some("major")), "P2");
        assert_eq!(p(Some("average")), "P3");
        assert_eq!(p(None), "P3");
        assert_eq!(p(Some("info")), "P4");
        assert_eq!(p(Some("whatever")), "P4");
    }

    #[test]
    fn zabbix_numbers() {
        let p = |s| priority_or_lowest(SeverityScheme::Zabbix, s);
        assert_eq!(p(Some("5")), "P1");
        assert_eq!(p(Some("4")), "P2");
        assert_eq!(p(Some("3")), "P3");
        assert_eq!(p(Some("2")), "P4");
        assert_eq!(p(None), "P4");
    }

    #[test]
    fn pagerduty_lists_exactly_four_words() {
        let p = |s| listed_priority(SeverityScheme::PagerDuty, s);
        assert_eq!(p("critical"), Some("P1"));
        assert_eq!(p("error"), Some("P2"));
        assert_eq!(p("warning"), Some("P3"));
        assert_eq!(p("info"), Some("P4"));
        assert_eq!(p("disaster"), None);
    }
}
