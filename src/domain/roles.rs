//! Roles and what each may do (least privilege).

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Supervisor,
    Auditor,
    Manager,
    Engineer,
    Operator,
    Requester,
}

pub const ALL_ROLES: [Role; 7] = [
    Role::Admin,
    Role::Supervisor,
    Role::Auditor,
    Role::Manager,
    Role::Engineer,
    Role::Operator,
    Role::Requester,
];

impl Role {
    pub fn parse(s: &str) -> Option<Role> {
        ALL_ROLES.iter().copied().find(|r| r.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Supervisor => "supervisor",
            Role::Auditor => "auditor",
            Role::Manager => "manager",
            Role::Engineer => "engineer",
            Role::Operator => "operator",
            Role::Requester => "requester",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::Admin => "系统管理员",
            Role::Supervisor => "甲方（采购方）",
            Role::Auditor => "监理",
            Role::Manager => "项目经理",
            Role::Engineer => "运维/数据库工程师",
            Role::Operator => "运营人员",
            Role::Requester => "报障用户",
        }
    }
}

/// Something a role may or may not do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Perm {
    /// Create, change, disable and delete accounts.
    ManageUsers,
    /// Read the inventory (sites, assets, systems, staff, assignments).
    ReadInventory,
    /// Read the list of systems (requesters pick one when reporting a fault).
    ReadSystems,
    /// Create, change and delete any inventory record, import.
    WriteInventory,
    /// Change inventory records of the systems one is assigned to.
    WriteAssignedInventory,
    /// Read the audit log (separation of duties: not the admin).
    ReadAudit,
    /// Export inventory.
    ExportInventory,
    /// See monitors, alerts, availability and the duty roster.
    ReadMonitoring,
    /// Create and change monitors and maintenance windows; acknowledge and silence alerts.
    WriteMonitoring,
    /// Register intake sources (Alertmanager, Zabbix, events) and edit the duty roster.
    ManageIntegrations,
}

impl Role {
    pub fn can(self, perm: Perm) -> bool {
        use Role::*;
        match perm {
            Perm::ManageUsers => self == Admin,
            Perm::ReadInventory | Perm::ExportInventory => {
                matches!(
                    self,
                    Admin | Supervisor | Auditor | Manager | Engineer | Operator
                )
            }
            Perm::ReadSystems => true,
            Perm::WriteInventory => matches!(self, Admin | Manager),
            Perm::WriteAssignedInventory => matches!(self, Admin | Manager | Engineer),
            Perm::ReadAudit => matches!(self, Auditor | Supervisor),
            Perm::ReadMonitoring => self != Requester,
            Perm::WriteMonitoring => matches!(self, Admin | Manager | Engineer | Operator),
            Perm::ManageIntegrations => matches!(self, Admin | Manager),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_admin_cannot_read_the_audit_log_but_the_auditor_can() {
        assert!(!Role::Admin.can(Perm::ReadAudit));
        assert!(Role::Auditor.can(Perm::ReadAudit));
    }

    #[test]
    fn supervisor_and_auditor_never_write_inventory() {
        for r in [
            Role::Supervisor,
            Role::Auditor,
            Role::Requester,
            Role::Operator,
        ] {
            assert!(!r.can(Perm::WriteInventory));
            assert!(!r.can(Perm::WriteAssignedInventory));
        }
    }
}
