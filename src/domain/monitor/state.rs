//! The per-monitor state machine, free of I/O so that it can be tested exhaustively.
//!
//! The *base* state follows the results: pending → down after N consecutive failures (or
//! unreachable when the monitor it depends on is down), → up after M consecutive
//! successes. The *shown* state is the base state unless the monitor is flapping (too many
//! up↔down changes in a window), paused or in maintenance. Alerts follow the base state
//! only while the monitor is not flapping and not in maintenance, so flapping holds the
//! alert as it was and suppresses notifications; when the flapping stops, the alert is
//! reconciled with the base state.

use std::collections::VecDeque;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Base {
    Pending,
    Up,
    Down,
    Unreachable,
}

impl Base {
    pub fn as_str(self) -> &'static str {
        match self {
            Base::Pending => "pending",
            Base::Up => "up",
            Base::Down => "down",
            Base::Unreachable => "unreachable",
        }
    }

    pub fn parse(s: &str) -> Base {
        match s {
            "up" => Base::Up,
            "down" => Base::Down,
            "unreachable" => Base::Unreachable,
            _ => Base::Pending,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Runtime {
    pub base: Base,
    pub shown: String,
    pub since: i64,
    pub failures: i64,
    pub successes: i64,
    /// Times of recent up↔down changes of the base state.
    pub flips: VecDeque<i64>,
    /// Whether this monitor's alert is open (firing or acknowledged).
    pub alert_open: bool,
    /// The time of the last result stepped here; when the stored state is newer (another
    /// process checked the monitor), the runtime is reloaded.
    pub last_at: Option<i64>,
}

#[derive(Clone, Copy, Debug)]
pub struct Params {
    pub failures_before_down: i64,
    pub successes_before_up: i64,
    pub flap_threshold: i64,
    pub flap_window_ms: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AlertAction {
    None,
    Fire,
    Resolve,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// (from, to) of the shown state, when it changed.
    pub changed: Option<(String, String)>,
    pub alert: AlertAction,
}

impl Runtime {
    pub fn new(base: Base, shown: &str, since: i64, failures: i64, successes: i64) -> Runtime {
        Runtime {
            base,
            shown: shown.to_string(),
            since,
            failures,
            successes,
            flips: VecDeque::new(),
            alert_open: false,
            last_at: None,
        }
    }

    fn show(&mut self, s: &str, at: i64) -> Option<(String, String)> {
        if self.shown == s {
            return None;
        }
        let from = std::mem::replace(&mut self.shown, s.to_string());
        self.since = at;
        Some((from, s.to_string()))
    }

    /// Applies one result. `dep_down`: the monitor this one depends on is down or
    /// unreachable. `maintenance`: a maintenance window covers `at`.
    pub fn step(
        &mut self,
        ok: bool,
        at: i64,
        dep_down: bool,
        maintenance: bool,
        p: &Params,
    ) -> Step {
        self.last_at = Some(at);
        if maintenance {
            // Results during maintenance decide nothing; afterwards the machine starts
            // again from pending, so a service still down is confirmed afresh.
            self.base = Base::Pending;
            self.failures = 0;
            self.successes = 0;
            return Step {
                changed: self.show("maintenance", at),
                alert: AlertAction::None,
            };
        }
        if ok {
            self.successes += 1;
            self.failures = 0;
        } else {
            self.failures += 1;
            self.successes = 0;
        }
        let up_now = ok && self.successes >= p.successes_before_up;
        let down_now = !ok && self.failures >= p.failures_before_down;
        let next = match self.base {
            Base::Pending | Base::Up if down_now => {
                if dep_down {
                    Base::Unreachable
                } else {
                    Base::Down
                }
            }
            Base::Pending if up_now => Base::Up,
            Base::Down | Base::Unreachable if up_now => Base::Up,
            Base::Unreachable if !ok && !dep_down => Base::Down,
            b => b,
        };
        if (self.base, next) == (Base::Up, Base::Down)
            || (self.base, next) == (Base::Down, Base::Up)
        {
            self.flips.push_back(at);
        }
        while self
            .flips
            .front()
            .is_some_and(|t| *t < at - p.flap_window_ms)
        {
            self.flips.pop_front();
        }
        self.base = next;
        let flapping = self.flips.len() as i64 >= p.flap_threshold;
        let shown = if flapping { "flapping" } else { next.as_str() };
        let changed = self.show(shown, at);
        let alert = if flapping {
            AlertAction::None
        } else if next == Base::Down && !self.alert_open {
            AlertAction::Fire
        } else if next == Base::Up && self.alert_open {
            AlertAction::Resolve
        } else {
            AlertAction::None
        };
        Step { changed, alert }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: Params = Params {
        failures_before_down: 3,
        successes_before_up: 2,
        flap_threshold: 4,
        flap_window_ms: 600_000,
    };

    fn run(rt: &mut Runtime, seq: &str, t0: i64) -> Vec<Step> {
        seq.chars()
            .enumerate()
            .map(|(i, c)| {
                let s = rt.step(c == '+', t0 + i as i64 * 1000, false, false, &P);
                match s.alert {
                    AlertAction::Fire => rt.alert_open = true,
                    AlertAction::Resolve => rt.alert_open = false,
                    AlertAction::None => {}
                }
                s
            })
            .collect()
    }

    #[test]
    fn down_after_n_failures_and_up_after_m_successes() {
        let mut rt = Runtime::new(Base::Pending, "pending", 0, 0, 0);
        let steps = run(&mut rt, "++", 0);
        assert_eq!(rt.shown, "up");
        assert_eq!(steps[1].changed, Some(("pending".into(), "up".into())));
        let steps = run(&mut rt, "--+--", 10_000);
        assert_eq!(rt.shown, "up", "a success in between resets the count");
        assert!(steps.iter().all(|s| s.alert == AlertAction::None));
        let steps = run(&mut rt, "-", 20_000);
        assert_eq!(rt.shown, "down");
        assert_eq!(steps[0].alert, AlertAction::Fire);
        let steps = run(&mut rt, "---+", 30_000);
        assert!(
            steps.iter().all(|s| s.alert == AlertAction::None),
            "fires once"
        );
        let steps = run(&mut rt, "+", 40_000);
        assert_eq!(rt.shown, "up");
        assert_eq!(steps[0].alert, AlertAction::Resolve);
    }

    #[test]
    fn behind_a_down_dependency_it_is_unreachable_and_does_not_alert() {
        let mut rt = Runtime::new(Base::Up, "up", 0, 0, 0);
        for i in 0..5 {
            let s = rt.step(false, i * 1000, true, false, &P);
            assert_eq!(s.alert, AlertAction::None);
        }
        assert_eq!(rt.shown, "unreachable");
        // The switch is back but the server still fails: now it is down.
        let s = rt.step(false, 6000, false, false, &P);
        assert_eq!(rt.shown, "down");
        assert_eq!(s.alert, AlertAction::Fire);
    }

    #[test]
    fn flapping_holds_the_alert_and_reconciles_afterwards() {
        let p = Params {
            failures_before_down: 1,
            successes_before_up: 1,
            ..P
        };
        let mut rt = Runtime::new(Base::Up, "up", 0, 0, 0);
        let mut fired = 0;
        let mut resolved = 0;
        for (i, ok) in [false, true, false, true, false, true, false]
            .iter()
            .enumerate()
        {
            let s = rt.step(*ok, i as i64 * 1000, false, false, &p);
            match s.alert {
                AlertAction::Fire => {
                    fired += 1;
                    rt.alert_open = true;
                }
                AlertAction::Resolve => {
                    resolved += 1;
                    rt.alert_open = false;
                }
                AlertAction::None => {}
            }
        }
        assert_eq!(rt.shown, "flapping");
        assert_eq!(
            (fired, resolved),
            (2, 1),
            "after 4 flips notifications stop"
        );
        // Quiet for longer than the window while up: the alert resolves.
        let s = rt.step(true, 700_000, false, false, &p);
        assert_eq!(rt.shown, "up");
        assert_eq!(s.alert, AlertAction::Resolve);
    }

    #[test]
    fn maintenance_decides_nothing_and_restarts_from_pending() {
        let mut rt = Runtime::new(Base::Up, "up", 0, 0, 0);
        for i in 0..5 {
            let s = rt.step(false, i * 1000, false, true, &P);
            assert_eq!(s.alert, AlertAction::None);
        }
        assert_eq!(rt.shown, "maintenance");
        let steps = run(&mut rt, "---", 10_000);
        assert_eq!(rt.shown, "down");
        assert_eq!(steps[2].alert, AlertAction::Fire);
    }
}
