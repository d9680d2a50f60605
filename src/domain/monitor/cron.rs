//! Five-field cron schedules (`minute hour day-of-month month day-of-week`) in Beijing
//! time, for heartbeats of jobs such as nightly backups, read by the `croner` crate.
//!
//! Supported: `*`, lists, ranges and steps (`*/15`, `8-17/2`, and `5/15` meaning
//! `5-59/15` as the hand-written parser used to accept); month and day names (`JAN`,
//! `mon-fri`); day-of-week 0–7 (0 and 7 are Sunday); the nicknames `@yearly`
//! (`@annually`), `@monthly`, `@weekly`, `@daily` (`@midnight`) and `@hourly`. When both
//! day fields are restricted a day matching either counts, as in Vixie cron (where a
//! field starting with `*`, like `*/2`, counts as unrestricted, so both must match). croner's
//! extensions (`L`, `W`, `#`) are accepted as well. Seconds and year fields are not.
//!
//! The text is bounded before croner sees it, and every step or number croner cannot hold
//! (`5/4294967295`) is a Chinese validation error, never a panic.

use chrono::{DateTime, Datelike, Timelike, Utc};

/// Longest schedule text accepted; real schedules are a few dozen characters.
pub const MAX_LEN: usize = 200;

/// How far ahead [`Cron::next_after`] looks before deciding a schedule never fires.
const HORIZON_YEARS: i32 = 8;

/// The fields in order: Chinese name, lowest and highest value.
const FIELDS: [(&str, u32, u32); 5] = [
    ("分钟", 0, 59),
    ("小时", 0, 23),
    ("日", 1, 31),
    ("月", 1, 12),
    ("星期", 0, 7),
];

const SHAPE_HINT: &str = "应为 5 段：分 时 日 月 周，如 \"0 2 * * *\"（每天 2:00），或 @daily、@hourly、@weekly、@monthly、@yearly";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cron {
    inner: croner::Cron,
}

/// The five-field form of a nickname, if `s` is one.
fn nickname(s: &str) -> Option<&'static str> {
    Some(match s.to_ascii_lowercase().as_str() {
        "@yearly" | "@annually" => "0 0 1 1 *",
        "@monthly" => "0 0 1 * *",
        "@weekly" => "0 0 * * 0",
        "@daily" | "@midnight" => "0 0 * * *",
        "@hourly" => "0 * * * *",
        _ => return None,
    })
}

fn parser() -> croner::parser::CronParser {
    croner::parser::CronParser::builder()
        .seconds(croner::parser::Seconds::Disallowed)
        .year(croner::parser::Year::Disallowed)
        .dom_and_dow(false)
        .sloppy_ranges(true)
        .build()
}

/// Why one field is wrong, in Chinese. Called only for a field croner refused.
fn field_error(i: usize, text: &str) -> String {
    let (name, min, max) = FIELDS[i];
    for part in text.split(',') {
        if let Some((_, step)) = part.split_once('/') {
            let max_step = if i == 4 { 7 } else { max };
            if step.parse::<u16>().map_or(true, |n| n == 0) {
                return format!("{name}的步长“{step}”无效：应为 1 到 {max_step} 之间的整数");
            }
        }
    }
    let range = if i == 3 {
        format!("{min}–{max} 或 JAN–DEC")
    } else if i == 4 {
        format!("{min}–{max}（0 和 7 都是周日）或 SUN–SAT")
    } else {
        format!("{min}–{max}")
    };
    format!("{name}“{text}”无效：取值范围 {range}，可用 *、逗号列表、a-b 范围和 /步长")
}

impl Cron {
    /// Parses a five-field schedule or a nickname. Errors are Chinese and name the field.
    pub fn parse(s: &str) -> Result<Cron, String> {
        if s.len() > MAX_LEN {
            return Err(format!("cron 计划不能超过 {MAX_LEN} 个字符"));
        }
        let s = s.trim();
        if s.starts_with('@') {
            let five = nickname(s).ok_or_else(|| {
                format!("不认识的简写“{s}”：可用 @yearly、@monthly、@weekly、@daily、@hourly")
            })?;
            return Self::parse(five);
        }
        if !s.is_ascii() {
            return Err(format!(
                "cron 计划只能包含英文字母、数字和符号；{SHAPE_HINT}"
            ));
        }
        let fields: Vec<&str> = s.split_whitespace().collect();
        if fields.len() != 5 {
            return Err(SHAPE_HINT.into());
        }
        let parser = parser();
        // Vixie cron counts a day field that starts with `*` (`*/2`) as unrestricted
        // for the either-day rule, so such a pair must both match; croner does so only
        // for a bare `*`, and takes `+` on the day of week to mean "both".
        let both = fields[2] != "*"
            && fields[4] != "*"
            && (fields[2].starts_with('*') || fields[4].starts_with('*'));
        let text = if both {
            let mut f = fields.clone();
            let dow = format!("+{}", f[4]);
            f[4] = &dow;
            f.join(" ")
        } else {
            s.to_string()
        };
        match parser.parse(&text) {
            Ok(inner) => Ok(Cron { inner }),
            Err(whole) => {
                // Find the field at fault: each alone, with the others left open.
                for (i, f) in fields.iter().enumerate() {
                    let mut probe = ["*"; 5];
                    probe[i] = f;
                    if parser.parse(&probe.join(" ")).is_err() {
                        return Err(field_error(i, f));
                    }
                }
                Err(format!("cron 计划“{s}”无效（{whole}）；{SHAPE_HINT}"))
            }
        }
    }

    /// The first scheduled time strictly after `t`, or `None` when the schedule does not
    /// fire in the next few years (e.g. 31 February).
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let local = t.with_timezone(&crate::clock::beijing());
        // croner works to the second; a schedule is a minute's business, so start from the
        // end of `t`'s minute as the hand-written parser did.
        let from =
            local.checked_add_signed(chrono::Duration::seconds(59 - i64::from(local.second())))?;
        let next = self.inner.find_next_occurrence(&from, false).ok()?;
        (next.year() <= local.year() + HORIZON_YEARS).then(|| next.with_timezone(&Utc))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    fn bj(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        crate::clock::beijing()
            .with_ymd_and_hms(y, mo, d, h, mi, 0)
            .unwrap()
            .with_timezone(&Utc)
    }

    /// Asserts that the run of `c` after `from` is at `want` (both Beijing time: year,
    /// month, day, hour, minute).
    fn assert_next(c: &Cron, from: (i32, u32, u32, u32, u32), want: (i32, u32, u32, u32, u32)) {
        let at = |(y, mo, d, h, mi)| bj(y, mo, d, h, mi);
        assert_eq!(c.next_after(at(from)), Some(at(want)), "after {from:?}");
    }

    #[test]
    fn schedules_run_at_their_next_minute_in_beijing_time() {
        let c = Cron::parse("0 2 * * *").unwrap();
        assert_next(&c, (2025, 10, 15, 1, 59), (2025, 10, 15, 2, 0));
        assert_next(&c, (2025, 10, 15, 2, 0), (2025, 10, 16, 2, 0));
        // Seconds inside the scheduled minute do not make it fire again.
        let within = bj(2025, 10, 15, 2, 0) + chrono::Duration::seconds(30);
        assert_eq!(c.next_after(within), Some(bj(2025, 10, 16, 2, 0)));
        let c = Cron::parse("*/15 8-17 * * 1-5").unwrap();
        // Saturday → Monday 08:00.
        assert_next(&c, (2025, 10, 18, 9, 0), (2025, 10, 20, 8, 0));
        assert_next(&c, (2025, 10, 20, 8, 7), (2025, 10, 20, 8, 15));
        let c = Cron::parse("0 0 29 2 *").unwrap();
        assert_next(&c, (2025, 3, 1, 0, 0), (2028, 2, 29, 0, 0));
    }

    #[test]
    fn both_day_fields_restricted_means_either_as_in_vixie_cron() {
        let c = Cron::parse("30 3 1 * 0").unwrap();
        // 2025-10-15 is a Wednesday: the next Sunday (19th) comes before the 1st.
        assert_next(&c, (2025, 10, 15, 0, 0), (2025, 10, 19, 3, 30));
        // From Sunday 26th, the 1st of November (a Saturday) is next.
        assert_next(&c, (2025, 10, 26, 4, 0), (2025, 11, 1, 3, 30));
        // A day field starting with `*` is unrestricted for this rule, as in Vixie
        // cron: odd days that are Mondays, not odd days or Mondays.
        let c = Cron::parse("0 0 */2 * 1").unwrap();
        assert_next(&c, (2025, 10, 15, 0, 0), (2025, 10, 27, 0, 0));
        assert!(same_runs(
            "0 0 1-31/2 * 1",
            "0 0 1,3,5,7,9,11,13,15,17,19,21,23,25,27,29,31 * 1"
        ));
        // Only day-of-week restricted: only Sundays.
        let c = Cron::parse("30 3 * * 0").unwrap();
        assert_next(&c, (2025, 10, 26, 4, 0), (2025, 11, 2, 3, 30));
        // 7 is Sunday too.
        assert!(same_runs("30 3 * * 7", "30 3 * * 0"));
    }

    #[test]
    fn month_and_day_names_and_nicknames_are_understood() {
        assert!(same_runs("0 9 * jan,Jul MON-fri", "0 9 * 1,7 1-5"));
        assert!(same_runs("0 9 * * sun", "0 9 * * 0"));
        let from = bj(2025, 10, 15, 12, 34);
        for (nick, want) in [
            ("@daily", bj(2025, 10, 16, 0, 0)),
            ("@midnight", bj(2025, 10, 16, 0, 0)),
            ("@hourly", bj(2025, 10, 15, 13, 0)),
            ("@weekly", bj(2025, 10, 19, 0, 0)),
            ("@monthly", bj(2025, 11, 1, 0, 0)),
            ("@yearly", bj(2026, 1, 1, 0, 0)),
            ("@ANNUALLY", bj(2026, 1, 1, 0, 0)),
        ] {
            assert_eq!(
                Cron::parse(nick).unwrap().next_after(from),
                Some(want),
                "{nick}"
            );
        }
    }

    /// Two schedules fire at the same times over the next few weeks.
    fn same_runs(a: &str, b: &str) -> bool {
        let (a, b) = (Cron::parse(a).unwrap(), Cron::parse(b).unwrap());
        let (mut ta, mut tb) = (bj(2025, 10, 15, 0, 0), bj(2025, 10, 15, 0, 0));
        for _ in 0..200 {
            match (a.next_after(ta), b.next_after(tb)) {
                (Some(x), Some(y)) if x == y => (ta, tb) = (x, y),
                (None, None) => return true,
                _ => return false,
            }
        }
        true
    }

    #[test]
    fn a_single_start_with_a_step_runs_to_the_end_of_the_range() {
        assert!(same_runs("5/15 * * * *", "5,20,35,50 * * * *"));
        assert!(!same_runs("5/15 * * * *", "5 * * * *"));
    }

    #[test]
    fn bad_schedules_say_in_chinese_which_field_is_wrong() {
        for (s, want) in [
            ("", "应为 5 段"),
            ("* * * *", "应为 5 段"),
            ("0 0 * * * *", "应为 5 段"),
            ("60 * * * *", "分钟“60”无效"),
            ("* 24 * * *", "小时“24”无效"),
            ("0 25 * * *", "小时“25”无效"),
            ("* * 32 * *", "日“32”无效"),
            ("* * * 13 *", "月“13”无效"),
            ("* * * * 8", "星期“8”无效"),
            ("*/0 * * * *", "分钟的步长“0”无效"),
            ("5/4294967295 * * * *", "分钟的步长“4294967295”无效"),
            ("* */99999999999999999999 * * *", "小时的步长"),
            ("a * * * *", "分钟“a”无效"),
            ("5-1 * * * *", "分钟“5-1”无效"),
            ("@often", "不认识的简写"),
            ("0 2 * * 一", "只能包含"),
        ] {
            let e = Cron::parse(s).expect_err(s);
            assert!(e.contains(want), "{s:?} gave {e:?}, wanted {want:?}");
        }
        let long = format!("0 2 * * {}", "1,".repeat(200));
        assert!(Cron::parse(&long).unwrap_err().contains("200"));
    }

    #[test]
    fn a_schedule_that_never_fires_has_no_next_run() {
        let c = Cron::parse("0 0 31 2 *").unwrap();
        let start = std::time::Instant::now();
        assert!(c.next_after(bj(2025, 1, 1, 0, 0)).is_none());
        eprintln!("31 February searched in {:?}", start.elapsed());
        assert!(start.elapsed() < std::time::Duration::from_secs(2));
    }

    fn field() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("*".to_string()),
            "[0-9]{1,12}",
            "[0-9]{1,3}-[0-9]{1,3}",
            "\\*/[0-9]{1,12}",
            "[0-9]{1,3}/[0-9]{1,12}",
            "[0-9]{1,3}-[0-9]{1,3}/[0-9]{1,6}",
            "(MON|tue|SUN|JAN|dec|L|W|#|\\?|,|-|/|\\*|[0-9]){1,12}",
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn parsing_arbitrary_text_never_panics_and_allocates_a_bound_of_its_input(s in "\\PC{0,300}") {
            let info = allocation_counter::measure(|| {
                let _ = std::hint::black_box(Cron::parse(&s));
            });
            prop_assert!(info.bytes_max <= 64 * 1024 + 64 * s.len() as u64, "{} bytes for {s:?}", info.bytes_max);
        }

        #[test]
        fn five_random_fields_parse_or_fail_cleanly_and_next_run_is_in_the_future(
            f in proptest::collection::vec(field(), 5),
            minutes in 0i64..60 * 24 * 366 * 3,
        ) {
            let s = f.join(" ");
            let t = bj(2025, 1, 1, 0, 0) + chrono::Duration::minutes(minutes);
            let info = allocation_counter::measure(|| {
                if let Ok(c) = Cron::parse(&s) && let Some(n) = c.next_after(t) {
                    assert!(n > t, "{s}: {n} not after {t}");
                }
            });
            prop_assert!(info.bytes_max <= 64 * 1024 + 64 * s.len() as u64, "{} bytes for {s:?}", info.bytes_max);
        }

        #[test]
        fn mutated_valid_schedules_never_panic(
            base in prop::sample::select(vec!["0 2 * * *", "*/15 8-17 * * 1-5", "30 3 1 * 0", "0 9 * JAN,JUL MON-FRI", "5/15 * * * *"]),
            pos in 0usize..40,
            byte in any::<u8>(),
        ) {
            let mut b = base.as_bytes().to_vec();
            let at = pos % (b.len() + 1);
            b.insert(at, byte);
            let s = String::from_utf8_lossy(&b).into_owned();
            if let Ok(c) = Cron::parse(&s) {
                let _ = c.next_after(bj(2025, 6, 1, 0, 0));
            }
        }
    }
}
