//! Command-line import and export, through the same services as the API.

use crate::Ctx;
use crate::accounts::AuthUser;
use crate::domain::inventory::importable;
use crate::domain::roles::Role;
use crate::error::AppError;

fn cli_user() -> AuthUser {
    AuthUser {
        id: 0,
        username: "cli".into(),
        display_name: "命令行".into(),
        role: Role::Admin,
        must_change_password: false,
        password_expired: false,
        session_id: None,
        ip: None,
    }
}

/// Imports a file; the error text lists every bad row and column.
pub async fn import(
    ctx: &Ctx,
    collection: &str,
    file_name: &str,
    data: &[u8],
) -> Result<i64, String> {
    let spec = importable(collection).ok_or_else(|| {
        format!("unknown collection '{collection}': use assets, systems, staff or sites")
    })?;
    let mut u = cli_user();
    u.username = format!("cli:{}", whoami());
    match crate::web::api::inventory::import_file(ctx, &u, spec, file_name, data).await {
        Ok(v) => Ok(v
            .get("imported")
            .and_then(serde_json::Value::as_i64)
            .unwrap_or_default()),
        Err(AppError::Unprocessable {
            message, details, ..
        }) => {
            let mut out = message;
            for e in details
                .get("errors")
                .and_then(|e| e.as_array())
                .into_iter()
                .flatten()
            {
                out.push_str(&format!(
                    "\n  第 {} 行 {}：{}",
                    e.get("row").and_then(|v| v.as_i64()).unwrap_or_default(),
                    e.get("column").and_then(|v| v.as_str()).unwrap_or_default(),
                    e.get("message")
                        .and_then(|v| v.as_str())
                        .unwrap_or_default()
                ));
            }
            Err(out)
        }
        Err(e) => Err(e.message()),
    }
}

pub async fn export(ctx: &Ctx, collection: &str, format: &str) -> Result<Vec<u8>, String> {
    let spec = importable(collection).ok_or_else(|| {
        format!("unknown collection '{collection}': use assets, systems, staff or sites")
    })?;
    crate::web::api::inventory::export_bytes(ctx, spec, format)
        .await
        .map(|(b, _, _)| b)
        .map_err(|e| e.message())
}

fn whoami() -> String {
    std::env::var("USER").unwrap_or_else(|_| "unknown".into())
}
