//! An inspection task's life: generated `pending` by its plan, `in_progress` once the
//! inspector starts, `submitted` for review, then `approved` by the manager or the
//! supervisor (监理), or `returned` with a comment to be done again. A task still pending or
//! in progress when its due time passes becomes `overdue`; it can still be done, and then
//! counts as completed but not on time.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::roles::Role;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    Pending,
    InProgress,
    Submitted,
    Approved,
    Returned,
    Overdue,
}

impl TaskStatus {
    pub const ALL: [TaskStatus; 6] = [
        TaskStatus::Pending,
        TaskStatus::InProgress,
        TaskStatus::Submitted,
        TaskStatus::Approved,
        TaskStatus::Returned,
        TaskStatus::Overdue,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Pending => "pending",
            TaskStatus::InProgress => "in_progress",
            TaskStatus::Submitted => "submitted",
            TaskStatus::Approved => "approved",
            TaskStatus::Returned => "returned",
            TaskStatus::Overdue => "overdue",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            TaskStatus::Pending => "待执行",
            TaskStatus::InProgress => "执行中",
            TaskStatus::Submitted => "待审核",
            TaskStatus::Approved => "已通过",
            TaskStatus::Returned => "已退回",
            TaskStatus::Overdue => "已逾期",
        }
    }

    /// Whether the inspector may still enter readings.
    pub fn editable(self) -> bool {
        matches!(
            self,
            TaskStatus::Pending
                | TaskStatus::InProgress
                | TaskStatus::Returned
                | TaskStatus::Overdue
        )
    }

    /// Whether the work is done (submitted and not sent back).
    pub fn completed(self) -> bool {
        matches!(self, TaskStatus::Submitted | TaskStatus::Approved)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaskAction {
    Start,
    Submit,
    Approve,
    Return,
}

impl TaskAction {
    pub const ALL: [TaskAction; 4] = [
        TaskAction::Start,
        TaskAction::Submit,
        TaskAction::Approve,
        TaskAction::Return,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TaskAction::Start => "start",
            TaskAction::Submit => "submit",
            TaskAction::Approve => "approve",
            TaskAction::Return => "return",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            TaskAction::Start => "开始巡检",
            TaskAction::Submit => "提交",
            TaskAction::Approve => "审核通过",
            TaskAction::Return => "退回",
        }
    }
}

/// Who is acting on a task, as far as the rules care.
#[derive(Clone, Copy, Debug)]
pub struct Actor {
    pub role: Role,
    /// Whether the actor is the task's assignee.
    pub is_assignee: bool,
}

impl Actor {
    /// Reviewers: the contractor's manager and the supervisor (监理).
    pub fn reviews(self) -> bool {
        matches!(self.role, Role::Admin | Role::Manager | Role::Supervisor)
    }

    /// Doers: the assignee, or a manager doing it for them.
    pub fn does(self) -> bool {
        (self.is_assignee && matches!(self.role, Role::Engineer | Role::Operator))
            || matches!(self.role, Role::Admin | Role::Manager)
    }

    /// Who may see a task at all: staff, the supervisor and the auditor; not requesters.
    pub fn sees(self) -> bool {
        self.role != Role::Requester
    }

    /// Who may see a task's evidence (its photos): engineers and operators their own
    /// tasks; the manager, the supervisor (甲方) and the auditor (监理) every task;
    /// requesters none.
    pub fn sees_evidence(self) -> bool {
        match self.role {
            Role::Admin | Role::Manager | Role::Supervisor | Role::Auditor => true,
            Role::Engineer | Role::Operator => self.is_assignee,
            Role::Requester => false,
        }
    }

    /// Who may add evidence (upload a photo): the assignee only.
    pub fn adds_evidence(self) -> bool {
        self.is_assignee
            && matches!(
                self.role,
                Role::Engineer | Role::Operator | Role::Manager | Role::Admin
            )
    }
}

/// The status an action leads to, or why it is refused (in Chinese).
pub fn transition(
    status: TaskStatus,
    action: TaskAction,
    actor: Actor,
) -> Result<TaskStatus, String> {
    use TaskAction::*;
    use TaskStatus::*;
    let who_ok = match action {
        Start | Submit => actor.does(),
        Approve | Return => actor.reviews(),
    };
    if !who_ok {
        return Err(match action {
            Start | Submit => "只有任务的执行人或项目经理可以执行该巡检".to_string(),
            Approve | Return => "只有项目经理或监理可以审核巡检".to_string(),
        });
    }
    let next = match (action, status) {
        (Start, Pending | Overdue | Returned) => Some(InProgress),
        (Submit, Pending | InProgress | Overdue | Returned) => Some(Submitted),
        (Approve, Submitted) => Some(Approved),
        (Return, Submitted) => Some(Returned),
        _ => None,
    };
    next.ok_or_else(|| format!("任务当前为“{}”，不能{}", status.label(), action.label()))
}

/// The actions the actor may take now, for the page and the API.
pub fn allowed_actions(status: TaskStatus, actor: Actor) -> Vec<TaskAction> {
    TaskAction::ALL
        .into_iter()
        .filter(|a| transition(status, *a, actor).is_ok())
        .collect()
}

/// Whether a task in `status` due at `due_at` is overdue at `now`.
pub fn becomes_overdue(status: TaskStatus, due_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    matches!(status, TaskStatus::Pending | TaskStatus::InProgress) && now > due_at
}

/// Whether a task submitted at `submitted_at` was on time.
pub fn on_time(submitted_at: DateTime<Utc>, due_at: DateTime<Utc>) -> bool {
    submitted_at <= due_at
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    const ENGINEER: Actor = Actor {
        role: Role::Engineer,
        is_assignee: true,
    };
    const OTHER_ENGINEER: Actor = Actor {
        role: Role::Engineer,
        is_assignee: false,
    };
    const SUPERVISOR: Actor = Actor {
        role: Role::Supervisor,
        is_assignee: false,
    };

    #[test]
    fn a_task_goes_from_pending_to_approved_or_back_for_rework() {
        use TaskAction::*;
        use TaskStatus::*;
        let s = transition(Pending, Start, ENGINEER).unwrap();
        let s = transition(s, Submit, ENGINEER).unwrap();
        assert_eq!(s, Submitted);
        let back = transition(s, Return, SUPERVISOR).unwrap();
        assert_eq!(back, Returned);
        assert_eq!(transition(back, Submit, ENGINEER).unwrap(), Submitted);
        assert_eq!(transition(s, Approve, SUPERVISOR).unwrap(), Approved);
        assert!(transition(Approved, Submit, ENGINEER).is_err());
        assert_eq!(
            transition(Approved, Return, SUPERVISOR).unwrap_err(),
            "任务当前为“已通过”，不能退回"
        );
    }

    #[test]
    fn only_the_assignee_or_a_manager_does_it_and_only_reviewers_review() {
        use TaskAction::*;
        use TaskStatus::*;
        assert!(transition(Pending, Start, OTHER_ENGINEER).is_err());
        assert!(transition(Submitted, Approve, ENGINEER).is_err());
        let manager = Actor {
            role: Role::Manager,
            is_assignee: false,
        };
        assert!(transition(Pending, Submit, manager).is_ok());
        assert!(transition(Submitted, Approve, manager).is_ok());
        assert!(transition(Pending, Start, SUPERVISOR).is_err());
        let requester = Actor {
            role: Role::Requester,
            is_assignee: true,
        };
        assert!(!requester.sees());
        assert!(allowed_actions(Pending, requester).is_empty());
        assert_eq!(allowed_actions(Pending, ENGINEER), vec![Start, Submit]);
        assert_eq!(
            allowed_actions(Submitted, SUPERVISOR),
            vec![Approve, Return]
        );
    }

    #[test]
    fn pending_and_started_tasks_become_overdue_after_their_due_time() {
        let due = Utc::now();
        let later = due + Duration::minutes(1);
        assert!(becomes_overdue(TaskStatus::Pending, due, later));
        assert!(becomes_overdue(TaskStatus::InProgress, due, later));
        assert!(!becomes_overdue(TaskStatus::Pending, due, due));
        assert!(!becomes_overdue(TaskStatus::Submitted, due, later));
        // An overdue task can still be done; it is then late.
        assert!(transition(TaskStatus::Overdue, TaskAction::Submit, ENGINEER).is_ok());
        assert!(!on_time(later, due));
        assert!(on_time(due, due));
    }

    #[test]
    fn evidence_is_seen_by_the_assignee_and_the_reviewers_and_added_by_the_assignee_only() {
        assert!(ENGINEER.sees_evidence() && ENGINEER.adds_evidence());
        assert!(!OTHER_ENGINEER.sees_evidence() && !OTHER_ENGINEER.adds_evidence());
        assert!(SUPERVISOR.sees_evidence() && !SUPERVISOR.adds_evidence());
        let manager = Actor {
            role: Role::Manager,
            is_assignee: false,
        };
        assert!(manager.sees_evidence() && !manager.adds_evidence());
        let requester = Actor {
            role: Role::Requester,
            is_assignee: true,
        };
        assert!(!requester.sees_evidence() && !requester.adds_evidence());
    }
}
