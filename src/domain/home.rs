//! Pure helpers for the role homes and for figures on pages: which home a role gets,
//! numbers with thousands separators, and SLA time left in words.

use crate::domain::roles::Role;

/// The home a role lands on at `/`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Home {
    Engineer,
    Manager,
    /// The purchaser (甲方) and the 监理: the same figures, read-only; the 监理 also gets
    /// the audit highlights.
    Oversight {
        audit: bool,
    },
    Requester,
    Operator,
    Admin,
}

pub fn home_of(role: Role) -> Home {
    match role {
        Role::Engineer => Home::Engineer,
        Role::Manager => Home::Manager,
        Role::Supervisor => Home::Oversight { audit: false },
        Role::Auditor => Home::Oversight { audit: true },
        Role::Requester => Home::Requester,
        Role::Operator => Home::Operator,
        Role::Admin => Home::Admin,
    }
}

/// `1234567` → `1,234,567`.
pub fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// A duration in minutes in words: `2天3小时`, `5小时12分`, `12分`, `不到1分`.
pub fn minutes_words(ms: i64) -> String {
    let m = ms.abs() / 60_000;
    if m == 0 {
        return "不到1分".into();
    }
    let (d, h, mi) = (m / 1440, (m % 1440) / 60, m % 60);
    if d > 0 {
        format!("{d}天{h}小时")
    } else if h > 0 {
        format!("{h}小时{mi}分")
    } else {
        format!("{mi}分")
    }
}

/// The SLA time left before `due` at `now`: (`剩 2小时5分` or `超时 3小时0分`, late?).
pub fn time_left(due: Option<i64>, breached: bool, now: i64) -> (String, bool) {
    match due {
        None if breached => ("已超时".into(), true),
        None => ("—".into(), false),
        Some(d) if d <= now => (format!("超时 {}", minutes_words(now - d)), true),
        Some(d) => (format!("剩 {}", minutes_words(d - now)), breached),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_numbers_get_thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(100_000), "100,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(-1234), "-1,234");
    }

    #[test]
    fn time_left_reads_in_words_and_flags_late_tickets() {
        let now = 1_000_000_000;
        assert_eq!(
            time_left(Some(now + 125 * 60_000), false, now),
            ("剩 2小时5分".into(), false)
        );
        assert_eq!(
            time_left(Some(now - 30_000), false, now),
            ("超时 不到1分".into(), true)
        );
        assert_eq!(time_left(None, false, now), ("—".into(), false));
        assert_eq!(minutes_words(3 * 86_400_000 + 3_600_000), "3天1小时");
    }

    #[test]
    fn supervisor_and_auditor_share_a_home_and_only_the_auditor_sees_the_audit() {
        assert_eq!(home_of(Role::Supervisor), Home::Oversight { audit: false });
        assert_eq!(home_of(Role::Auditor), Home::Oversight { audit: true });
    }
}
