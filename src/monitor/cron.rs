//! Five-field cron schedules (`minute hour day-of-month month day-of-week`) in Beijing
//! time, for heartbeats of jobs such as nightly backups. Supports `*`, lists, ranges and
//! steps; day-of-week 0–7 (0 and 7 are Sunday); when both day fields are restricted a day
//! matching either counts, as in Vixie cron.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Timelike, Utc};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cron {
    minutes: Vec<bool>,
    hours: Vec<bool>,
    dom: Vec<bool>,
    months: Vec<bool>,
    dow: Vec<bool>,
    dom_any: bool,
    dow_any: bool,
}

fn field(s: &str, min: u32, max: u32, name: &str) -> Result<(Vec<bool>, bool), String> {
    let mut set = vec![false; max as usize + 1];
    let any = s == "*";
    for part in s.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, st)) => (
                r,
                st.parse::<u32>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| format!("{name}的步长“{st}”无效"))?,
            ),
            None => (part, 1),
        };
        let (lo, hi) = if range == "*" {
            (min, max)
        } else if let Some((a, b)) = range.split_once('-') {
            let a = a
                .parse::<u32>()
                .map_err(|_| format!("{name}“{part}”无效"))?;
            let b = b
                .parse::<u32>()
                .map_err(|_| format!("{name}“{part}”无效"))?;
            (a, b)
        } else {
            let a = range
                .parse::<u32>()
                .map_err(|_| format!("{name}“{part}”无效"))?;
            (a, if part.contains('/') { max } else { a })
        };
        if lo < min || hi > max || lo > hi {
            return Err(format!("{name}“{part}”超出范围 {min}–{max}"));
        }
        let mut v = lo;
        while v <= hi {
            set[v as usize] = true;
            v += step;
        }
    }
    Ok((set, any))
}

impl Cron {
    pub fn parse(s: &str) -> Result<Cron, String> {
        let parts: Vec<&str> = s.split_whitespace().collect();
        if parts.len() != 5 {
            return Err("应为 5 段：分 时 日 月 周，如 \"0 2 * * *\"（每天 2:00）".into());
        }
        let (minutes, _) = field(parts[0], 0, 59, "分钟")?;
        let (hours, _) = field(parts[1], 0, 23, "小时")?;
        let (dom, dom_any) = field(parts[2], 1, 31, "日")?;
        let (months, _) = field(parts[3], 1, 12, "月")?;
        let (mut dow, dow_any) = field(parts[4], 0, 7, "星期")?;
        if dow[7] {
            dow[0] = true;
        }
        Ok(Cron {
            minutes,
            hours,
            dom,
            months,
            dow,
            dom_any,
            dow_any,
        })
    }

    fn day_matches(&self, d: NaiveDate) -> bool {
        if !self.months[d.month() as usize] {
            return false;
        }
        let dom = self.dom[d.day() as usize];
        let dow = self.dow[d.weekday().num_days_from_sunday() as usize];
        match (self.dom_any, self.dow_any) {
            (true, true) => true,
            (true, false) => dow,
            (false, true) => dom,
            (false, false) => dom || dow,
        }
    }

    /// The first scheduled time strictly after `t`.
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let tz = crate::clock::beijing();
        let local = t.with_timezone(&tz) + Duration::minutes(1);
        let mut day = local.date_naive();
        let (mut h0, mut m0) = (local.hour(), local.minute());
        for _ in 0..(366 * 5) {
            if self.day_matches(day) {
                for h in h0..24 {
                    if !self.hours[h as usize] {
                        continue;
                    }
                    let start = if h == h0 { m0 } else { 0 };
                    for m in start..60 {
                        if self.minutes[m as usize] {
                            let naive = day.and_hms_opt(h, m, 0)?;
                            return tz
                                .from_local_datetime(&naive)
                                .single()
                                .map(|x| x.with_timezone(&Utc));
                        }
                    }
                }
            }
            day = day.succ_opt()?;
            h0 = 0;
            m0 = 0;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bj(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        crate::clock::beijing()
            .with_ymd_and_hms(y, mo, d, h, mi, 0)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn next_runs() {
        let c = Cron::parse("0 2 * * *").unwrap();
        assert_eq!(
            c.next_after(bj(2025, 10, 15, 1, 59)),
            Some(bj(2025, 10, 15, 2, 0))
        );
        assert_eq!(
            c.next_after(bj(2025, 10, 15, 2, 0)),
            Some(bj(2025, 10, 16, 2, 0))
        );
        let c = Cron::parse("*/15 8-17 * * 1-5").unwrap();
        // Saturday → Monday 08:00.
        assert_eq!(
            c.next_after(bj(2025, 10, 18, 9, 0)),
            Some(bj(2025, 10, 20, 8, 0))
        );
        assert_eq!(
            c.next_after(bj(2025, 10, 20, 8, 7)),
            Some(bj(2025, 10, 20, 8, 15))
        );
        let c = Cron::parse("30 3 1 * 0").unwrap();
        // Either the 1st or a Sunday.
        assert_eq!(
            c.next_after(bj(2025, 10, 15, 0, 0)),
            Some(bj(2025, 10, 19, 3, 30))
        );
        let c = Cron::parse("0 0 29 2 *").unwrap();
        assert_eq!(
            c.next_after(bj(2025, 3, 1, 0, 0)),
            Some(bj(2028, 2, 29, 0, 0))
        );
    }

    #[test]
    fn bad_schedules_say_why() {
        for s in [
            "",
            "* * * *",
            "60 * * * *",
            "* 24 * * *",
            "*/0 * * * *",
            "a * * * *",
            "5-1 * * * *",
        ] {
            assert!(Cron::parse(s).is_err(), "{s}");
        }
        assert!(
            Cron::parse("0 0 31 2 *")
                .unwrap()
                .next_after(bj(2025, 1, 1, 0, 0))
                .is_none()
        );
    }
}
