//! The typed inputs of account management (`accounts::create_user`, `accounts::update_user`),
//! and the OpenAPI document's schemas of their request bodies. Texts sent blank or `null`
//! mean "not given" (pages send every field as text).

use serde::{Deserialize, Deserializer};
use serde_json::Value;
use utoipa::ToSchema;

use crate::domain::input::{Labels, de};
use crate::domain::roles::Role;

#[derive(Clone, Copy, Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RoleName {
    Admin,
    Supervisor,
    Auditor,
    Manager,
    Engineer,
    Operator,
    Requester,
}

impl RoleName {
    pub fn role(self) -> Role {
        match self {
            RoleName::Admin => Role::Admin,
            RoleName::Supervisor => Role::Supervisor,
            RoleName::Auditor => Role::Auditor,
            RoleName::Manager => Role::Manager,
            RoleName::Engineer => Role::Engineer,
            RoleName::Operator => Role::Operator,
            RoleName::Requester => Role::Requester,
        }
    }
}

/// A patch of an optional text: absent is `None` (no change), blank or `null` is
/// `Some(None)` (clear).
fn patch_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    de::opt_text(d).map(Some)
}

/// `POST /users`. `id`, `created_at` and `updated_at` are accepted and ignored.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserCreate {
    pub username: String,
    /// Defaults to the username.
    #[schema(max_length = 50)]
    #[serde(default, deserialize_with = "de::opt_text")]
    pub display_name: Option<String>,
    pub role: RoleName,
    /// The initial password, to be changed at first login.
    pub password: String,
    #[schema(max_length = 40)]
    #[serde(default, deserialize_with = "de::opt_text")]
    pub phone: Option<String>,
    #[schema(max_length = 200)]
    #[serde(default, deserialize_with = "de::opt_text")]
    pub email: Option<String>,
    #[serde(default)]
    #[schema(ignore)]
    pub id: Option<Value>,
    #[serde(default)]
    #[schema(ignore)]
    pub created_at: Option<Value>,
    #[serde(default)]
    #[schema(ignore)]
    pub updated_at: Option<Value>,
}

impl Labels for UserCreate {
    const LABELS: &'static [(&'static str, &'static str)] = &[
        ("username", "用户名"),
        ("display_name", "姓名"),
        ("role", "角色"),
        ("password", "初始密码"),
        ("phone", "电话"),
        ("email", "邮箱"),
    ];
}

/// `PATCH /users/{id}`: only the fields to change (a blank phone or e-mail clears it). The
/// username cannot change (sending the current one is accepted); passwords are reset with
/// `/users/{id}/reset-password`. `id`, `created_at` and `updated_at` are accepted and
/// ignored.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserUpdate {
    pub username: Option<String>,
    #[schema(max_length = 50, value_type = Option<String>)]
    #[serde(default, deserialize_with = "patch_text")]
    pub display_name: Option<Option<String>>,
    pub role: Option<RoleName>,
    #[schema(max_length = 40, value_type = Option<String>)]
    #[serde(default, deserialize_with = "patch_text")]
    pub phone: Option<Option<String>>,
    #[schema(max_length = 200, value_type = Option<String>)]
    #[serde(default, deserialize_with = "patch_text")]
    pub email: Option<Option<String>>,
    pub disabled: Option<bool>,
    /// `true` clears a lockout after failed logins.
    pub unlock: Option<bool>,
    /// Refused with a message that names the reset.
    #[serde(default)]
    #[schema(ignore)]
    pub password: Option<Value>,
    #[serde(default)]
    #[schema(ignore)]
    pub id: Option<Value>,
    #[serde(default)]
    #[schema(ignore)]
    pub created_at: Option<Value>,
    #[serde(default)]
    #[schema(ignore)]
    pub updated_at: Option<Value>,
}

impl Labels for UserUpdate {
    const LABELS: &'static [(&'static str, &'static str)] = &[
        ("username", "用户名"),
        ("display_name", "姓名"),
        ("role", "角色"),
        ("phone", "电话"),
        ("email", "邮箱"),
        ("disabled", "停用"),
        ("unlock", "解除锁定"),
    ];
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::input::decode;
    use serde_json::json;

    #[test]
    fn a_patch_tells_a_field_left_out_from_a_field_cleared() {
        let p: UserUpdate =
            decode(json!({"phone": "", "email": null, "role": "engineer"})).unwrap();
        assert_eq!(p.phone, Some(None));
        assert_eq!(p.email, Some(None));
        assert_eq!(p.display_name, None);
        assert!(matches!(p.role, Some(RoleName::Engineer)));
    }

    #[test]
    fn a_new_account_names_its_problem_in_chinese() {
        let e = decode::<UserCreate>(json!({"username": "ok", "role": "root", "password": "x"}))
            .unwrap_err()
            .remove(0);
        assert_eq!(e.field, "role");
        assert!(e.message.starts_with("角色“root”无效"), "{}", e.message);
        let e = decode::<UserCreate>(json!({"username": "ok", "role": "engineer"}))
            .unwrap_err()
            .remove(0);
        assert_eq!(
            (e.field.as_str(), e.message.as_str()),
            ("password", "请填写初始密码")
        );
    }
}
