//! Push history and backstops (Mozilla's SCHEDULES §5.7), the pure part.
//!
//! Every recorded push of a branch gets a number from the store (1, 2, 3, …
//! without gaps); its [`PushRecord`] carries the backstop state forward, so
//! deciding push N needs only record N-1 ([`decide`]). On a *backstop* push
//! every task runs (except `backstop = false` ones); an *expanded* push is a
//! lighter one that keeps `on_expanded` tasks. The key layout and the
//! concurrent claim of numbers live in the store adapter (sift-store).

mod cadence;
pub mod outcome;
mod record;
mod time;

pub use cadence::{Cadence, Force, PushContext, PushDecision, decide};
pub use record::{
    Mark, PlanDetail, PlanMode, PushRecord, RECORD_FORMAT, RecordError, RecordedPlan,
};
pub use time::{format_rfc3339, parse_rfc3339};

use crate::select::plan::{Evaluation, leaf};

/// `on_backstop = true` (`expanded: false`) and `on_expanded = true`.
pub(crate) fn evaluate_on_push(push: Option<&PushContext>, expanded: bool) -> Evaluation {
    let (name, what) = if expanded {
        ("on_expanded", "an expanded push")
    } else {
        ("on_backstop", "a backstop push")
    };
    let key = format!("{name} = true");
    let Some(push) = push else {
        return leaf(
            false,
            &key,
            &format!("{name}: not a recorded push (sift plan --record)"),
        );
    };
    let keep = if expanded {
        push.decision.expanded
    } else {
        push.decision.backstop
    };
    let verdict = if keep { "is" } else { "is not" };
    leaf(
        keep,
        &key,
        &format!(
            "{name}: {} #{} {verdict} {what} ({})",
            push.branch, push.number, push.decision.reason
        ),
    )
}
