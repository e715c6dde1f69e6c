//! How much work one render may do. Go's text/template has no bound: a chart that `tpl`s its
//! user's values, or templates that include each other wide rather than deep, run until Helm
//! is killed. dsc-helm renders on the admission path and in a long-lived reconciler, so a
//! render stops after a number of steps (one per template node run, so the same input always
//! stops at the same place and gets the same verdict) and, where a caller must answer in
//! time (the webhook, below its `timeoutSeconds`), at a wall-clock deadline.

use std::time::{Duration, Instant};

/// Steps one render may take unless told otherwise. The heaviest chart of the corpus,
/// kube-prometheus-stack, takes about 17,000 (a step is a template node run or a range
/// iteration, whatever functions its pipeline calls); five hundred times that is no chart's
/// honest need, and ordinary steps spend it in a second or two.
pub const DEFAULT_STEPS: u64 = 10_000_000;

/// Steps no ordinary render comes near. The heaviest of the corpus's 296 successful renders
/// (every case of ../shared/corpus) takes 30,001 (a grafana-loki case; kube-prometheus-stack
/// about 18,000), the repository's examples under 200, and the conformance test renders
/// every corpus case within a quarter of this. A caller that must stay responsive (the
/// webhook) renders within this first and treats a render that needs more as expensive. It
/// is no larger because a runaway render spends all of it before it is found out: about
/// 3 ms of a core each (at 400,000, the 50 req/s attack of the admission benchmark kept
/// half a core busy on it, and ordinary reviews queued behind it on a loaded machine).
pub const ROUTINE_STEPS: u64 = 150_000;

/// The words that end a message of a render stopped by its deadline. Such a verdict says
/// more about the machine's load than about the input; a caller that caches verdicts learns
/// it from the render's error ([`Exhausted::Time`]), not from these words.
const TIME_LIMIT: &str = "the render's time limit";

/// How often, in steps, the clock is read when there is a deadline: reading it costs more
/// than a step.
const CLOCK_EVERY: u32 = 4096;

/// The limits of one render.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub steps: u64,
    /// Wall-clock time from the start of the render; `None` for no deadline.
    pub time: Option<Duration>,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            steps: DEFAULT_STEPS,
            time: None,
        }
    }
}

/// What ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exhausted {
    Steps(u64),
    Time(Duration),
}

impl std::fmt::Display for Exhausted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Exhausted::Steps(n) => write!(
                f,
                "rendering stopped after {n} steps, the render's budget: a loop or recursion \
                 that does not end?"
            ),
            Exhausted::Time(t) => write!(
                f,
                "rendering stopped after {} ms, {TIME_LIMIT}",
                t.as_millis()
            ),
        }
    }
}

/// A budget being spent.
pub(crate) struct Fuel {
    left: u64,
    budget: Budget,
    deadline: Option<Instant>,
    until_clock: u32,
    /// What ran out, once something did: the error it caused travels as text through
    /// `include` and `tpl`, and a caller that retries with more fuel needs to know.
    ran_out: Option<Exhausted>,
}

impl Fuel {
    pub(crate) fn new(budget: Budget) -> Fuel {
        Fuel {
            left: budget.steps,
            budget,
            deadline: budget.time.map(|t| Instant::now() + t),
            until_clock: CLOCK_EVERY,
            ran_out: None,
        }
    }

    pub(crate) fn ran_out(&self) -> Option<Exhausted> {
        self.ran_out
    }

    /// Takes one step.
    #[inline]
    pub(crate) fn burn(&mut self) -> Result<(), Exhausted> {
        if self.left == 0 {
            return Err(self.stop(Exhausted::Steps(self.budget.steps)));
        }
        self.left -= 1;
        if let Some(deadline) = self.deadline {
            self.until_clock -= 1;
            if self.until_clock == 0 {
                self.until_clock = CLOCK_EVERY;
                if Instant::now() >= deadline {
                    return Err(self.stop(Exhausted::Time(self.budget.time.unwrap_or_default())));
                }
            }
        }
        Ok(())
    }

    #[cold]
    fn stop(&mut self, why: Exhausted) -> Exhausted {
        self.ran_out.get_or_insert(why);
        why
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_run_out_exactly_at_the_budget() {
        let mut fuel = Fuel::new(Budget {
            steps: 3,
            time: None,
        });
        assert_eq!(fuel.burn(), Ok(()));
        assert_eq!(fuel.burn(), Ok(()));
        assert_eq!(fuel.burn(), Ok(()));
        assert_eq!(fuel.ran_out(), None);
        assert_eq!(fuel.burn(), Err(Exhausted::Steps(3)));
        assert_eq!(fuel.ran_out(), Some(Exhausted::Steps(3)));
    }

    #[test]
    fn a_passed_deadline_is_noticed_within_a_clock_interval() {
        let mut fuel = Fuel::new(Budget {
            steps: u64::MAX,
            time: Some(Duration::ZERO),
        });
        let stopped = (0..=CLOCK_EVERY).find_map(|_| fuel.burn().err());
        assert_eq!(stopped, Some(Exhausted::Time(Duration::ZERO)));
        assert_eq!(fuel.ran_out(), stopped);
    }
}
