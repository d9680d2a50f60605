//! The accepted request bodies of account management, as typed structs: the OpenAPI
//! document's schemas. `web::api::users` still checks the JSON object field by field.

use serde::Deserialize;
use utoipa::ToSchema;

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

/// `POST /users`. `id`, `created_at` and `updated_at` are accepted and ignored.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserCreate {
    pub username: String,
    /// Defaults to the username.
    #[schema(max_length = 50)]
    pub display_name: Option<String>,
    pub role: RoleName,
    /// The initial password, to be changed at first login.
    pub password: String,
    #[schema(max_length = 40)]
    pub phone: Option<String>,
    #[schema(max_length = 200)]
    pub email: Option<String>,
}

/// `PATCH /users/{id}`: only the fields to change. The username cannot change (sending the
/// current one is accepted); passwords are reset with `/users/{id}/reset-password`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserUpdate {
    pub username: Option<String>,
    #[schema(max_length = 50)]
    pub display_name: Option<String>,
    pub role: Option<RoleName>,
    #[schema(max_length = 40)]
    pub phone: Option<String>,
    #[schema(max_length = 200)]
    pub email: Option<String>,
    pub disabled: Option<bool>,
    /// `true` clears a lockout after failed logins.
    pub unlock: Option<bool>,
}
