//! When to doubt a remote's "not found". A remote that answers 404 to most
//! of what it is asked is far likelier broken (a wrong base path, a gateway
//! or egress filter answering for it) than missing most runs at once; taking
//! it at its word would turn every active row into `remote_not_found` within
//! a few rounds, each suggesting mark-failed.

use super::history::RemoteAnswer;

/// Fewest not-found answers about fresh executions that can make a round
/// suspect: two or three genuinely unknown ids must still be reported.
pub const MIN_NOT_FOUND: usize = 4;

/// What one round of look-ups says about the remote itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoundVerdict {
    /// Its answers can be taken at their word.
    Trusted,
    /// Most fresh look-ups answered "not found": the round's not-found
    /// answers are doubted, and the remote is marked suspect.
    Suspect(String),
    /// Nothing to judge by (no fresh look-up answered).
    Unjudged,
}

/// Judges a round from its answers, each with whether its execution was
/// *fresh*: not already in a not-found streak. Re-asking runs already
/// missing (to confirm them) answers 404 by design and says nothing of the
/// remote, so only fresh look-ups count.
pub fn judge_round<'a>(
    answers: impl IntoIterator<Item = (bool, &'a RemoteAnswer)>,
) -> RoundVerdict {
    let (mut answered, mut not_found) = (0usize, 0usize);
    for (fresh, answer) in answers {
        if !fresh {
            continue;
        }
        match answer {
            RemoteAnswer::Found { .. } => answered += 1,
            RemoteAnswer::NotFound => {
                answered += 1;
                not_found += 1;
            }
            _ => {}
        }
    }
    if answered == 0 {
        RoundVerdict::Unjudged
    } else if not_found >= MIN_NOT_FOUND && not_found * 2 > answered {
        RoundVerdict::Suspect(format!(
            "{not_found} of {answered} look-ups answered not found at once: the remote looks broken \
             (wrong base URL, a gateway or filter in the way), so no run is called missing"
        ))
    } else {
        RoundVerdict::Trusted
    }
}

/// A not-found answer from a suspect round, kept as doubted: it moves no streak.
pub fn doubted(answer: RemoteAnswer, why: &str) -> RemoteAnswer {
    match answer {
        RemoteAnswer::NotFound => RemoteAnswer::Doubted {
            message: format!("not found, but not trusted: {why}"),
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Status;

    fn found() -> RemoteAnswer {
        RemoteAnswer::Found {
            status: Status::Running,
            raw: "RUNNING".into(),
        }
    }

    #[test]
    fn most_fresh_look_ups_not_found_make_the_round_suspect() {
        let answers = [
            RemoteAnswer::NotFound,
            RemoteAnswer::NotFound,
            RemoteAnswer::NotFound,
            RemoteAnswer::NotFound,
            found(),
        ];
        let verdict = judge_round(answers.iter().map(|a| (true, a)));
        assert!(
            matches!(verdict, RoundVerdict::Suspect(ref m) if m.starts_with("4 of 5")),
            "{verdict:?}"
        );
    }

    #[test]
    fn a_few_unknown_ids_are_still_believed() {
        let mut answers = vec![RemoteAnswer::NotFound; MIN_NOT_FOUND - 1];
        assert_eq!(
            judge_round(answers.iter().map(|a| (true, a))),
            RoundVerdict::Trusted
        );
        // Half not found among many is not "most".
        answers = [vec![RemoteAnswer::NotFound; 10], vec![found(); 10]].concat();
        assert_eq!(
            judge_round(answers.iter().map(|a| (true, a))),
            RoundVerdict::Trusted
        );
    }

    #[test]
    fn confirming_look_ups_of_runs_already_missing_do_not_count() {
        let answers = vec![RemoteAnswer::NotFound; 20];
        assert_eq!(
            judge_round(answers.iter().map(|a| (false, a))),
            RoundVerdict::Unjudged
        );
        let errors = vec![
            RemoteAnswer::Error {
                message: "HTTP 500".into()
            };
            20
        ];
        assert_eq!(
            judge_round(errors.iter().map(|a| (true, a))),
            RoundVerdict::Unjudged
        );
    }

    #[test]
    fn only_not_found_answers_are_doubted() {
        assert!(matches!(
            doubted(RemoteAnswer::NotFound, "x"),
            RemoteAnswer::Doubted { .. }
        ));
        assert_eq!(doubted(found(), "x"), found());
    }
}
