//! Accounts, password history, sessions and API tokens.

use serde_json::{Value, json};

use super::audit::NewAuditEvent;
use super::db;
use super::sql::{Columns, unique_conflict};
use super::{Actor, Store, StoreError, StoreResult, Tx, like_pattern};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct UserRow {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub password_hash: String,
    pub password_changed_at: i64,
    pub must_change_password: i64,
    pub failed_logins: i64,
    pub locked_until: Option<i64>,
    pub disabled: i64,
    pub last_login_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl UserRow {
    /// The API's view: never the hash.
    pub fn to_json(&self, now_ms: i64) -> Value {
        json!({
            "id": self.id,
            "username": self.username,
            "display_name": self.display_name,
            "role": self.role,
            "phone": self.phone,
            "email": self.email,
            "disabled": self.disabled != 0,
            "locked": self.locked_until.is_some_and(|t| t > now_ms),
            "must_change_password": self.must_change_password != 0,
            "password_changed_at": crate::clock::rfc3339(self.password_changed_at),
            "last_login_at": self.last_login_at.map(crate::clock::rfc3339),
            "created_at": crate::clock::rfc3339(self.created_at),
            "updated_at": crate::clock::rfc3339(self.updated_at),
        })
    }
}

/// Changes an admin may make to an account.
#[derive(Clone, Debug, Default)]
pub struct UserChanges {
    pub display_name: Option<String>,
    pub role: Option<String>,
    pub phone: Option<Option<String>>,
    pub email: Option<Option<String>>,
    pub disabled: Option<bool>,
    pub unlock: bool,
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ApiTokenRow {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
    pub last_used_at: Option<i64>,
}

impl ApiTokenRow {
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "created_at": crate::clock::rfc3339(self.created_at),
            "expires_at": crate::clock::rfc3339(self.expires_at),
            "revoked": self.revoked_at.is_some(),
            "last_used_at": self.last_used_at.map(crate::clock::rfc3339),
        })
    }
}

/// What a bearer token or cookie resolved to, with the account it belongs to.
#[derive(Clone, Debug)]
pub enum Credential {
    Session {
        id: i64,
        last_seen_at: i64,
        user: CredentialUser,
    },
    ApiToken {
        id: i64,
        expires_at: i64,
        revoked: bool,
        user: CredentialUser,
    },
}

/// The account fields authentication needs, read in the same query as the credential.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct CredentialUser {
    pub user_id: i64,
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub must_change_password: i64,
    pub password_changed_at: i64,
    pub disabled: i64,
}

#[derive(sqlx::FromRow)]
struct CredentialRow {
    kind: String,
    cred_id: i64,
    stamp: i64,
    revoked: i64,
    #[sqlx(flatten)]
    user: CredentialUser,
}

const USER_COLS: &str = "id, username, display_name, role, phone, email, password_hash, password_changed_at, \
    must_change_password, failed_logins, locked_until, disabled, last_login_at, created_at, updated_at";

impl Store {
    /// Whether user `id` is active (not disabled) and has one of `roles`, read on the
    /// write transaction of the use case that assigns them.
    pub async fn user_exists_with_role(
        &self,
        tx: &mut Tx,
        id: i64,
        roles: &[&str],
    ) -> StoreResult<bool> {
        let role: Option<String> = db::maybe_value(
            &mut **tx,
            "SELECT role FROM users WHERE id = $1 AND disabled = 0",
            id,
        )
        .await?;
        Ok(role.is_some_and(|r| roles.contains(&r.as_str())))
    }

    pub async fn count_users(&self) -> StoreResult<i64> {
        db::value(self.pool(), "SELECT COUNT(*) FROM users", ()).await
    }

    pub async fn user_by_id(&self, id: i64) -> StoreResult<UserRow> {
        let sql = format!("SELECT {USER_COLS} FROM users WHERE id = $1");
        db::one(self.pool(), sqlx::AssertSqlSafe(sql), id).await
    }

    /// An account, read on the caller's write transaction; `NotFound` when there is none.
    async fn user_in(tx: &mut Tx, id: i64) -> StoreResult<UserRow> {
        let sql = format!("SELECT {USER_COLS} FROM users WHERE id = $1");
        db::one(&mut **tx, sqlx::AssertSqlSafe(sql), id).await
    }

    pub async fn user_by_username(&self, username: &str) -> StoreResult<Option<UserRow>> {
        let sql = format!("SELECT {USER_COLS} FROM users WHERE username = $1");
        db::maybe(self.pool(), sqlx::AssertSqlSafe(sql), username.to_string()).await
    }

    pub async fn list_users(
        &self,
        q: Option<&str>,
        role: Option<&str>,
        limit: i64,
        offset: i64,
    ) -> StoreResult<(Vec<UserRow>, i64)> {
        let pat = q.map(like_pattern).unwrap_or_else(|| "%".into());
        let role = role.map(str::to_string);
        let total: i64 = db::value(
            self.pool(),
            "SELECT COUNT(*) FROM users WHERE (LOWER(username) LIKE $1 ESCAPE '\\' OR LOWER(display_name) LIKE $1 ESCAPE '\\') \
             AND ($2 IS NULL OR role = $2)",
            (pat.clone(), role.clone()),
        )
        .await?;
        let sql = format!(
            "SELECT {USER_COLS} FROM users WHERE (LOWER(username) LIKE $1 ESCAPE '\\' OR LOWER(display_name) LIKE $1 ESCAPE '\\') \
             AND ($2 IS NULL OR role = $2) ORDER BY id LIMIT $3 OFFSET $4"
        );
        let rows = db::all(
            self.pool(),
            sqlx::AssertSqlSafe(sql),
            (pat, role, limit, offset),
        )
        .await?;
        Ok((rows, total))
    }

    /// Creates an account; the first password goes into the history too.
    #[allow(clippy::too_many_arguments)]
    pub async fn create_user(
        &self,
        username: &str,
        display_name: &str,
        role: &str,
        phone: Option<String>,
        email: Option<String>,
        password_hash: &str,
        must_change: bool,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<UserRow> {
        let mut tx = self.write_tx().await?;
        let id = Columns::new()
            .set("username", username)
            .set("display_name", display_name)
            .set("role", role)
            .set("phone", phone)
            .set("email", email)
            .set("password_hash", password_hash)
            .set("password_changed_at", now_ms)
            .set("must_change_password", must_change)
            .created(now_ms)
            .insert(&mut tx, "users")
            .await
            .map_err(unique_conflict(format!(
                "用户名“{username}”已被使用，请换一个"
            )))?;
        db::exec(
            &mut *tx,
            "INSERT INTO password_history (user_id, password_hash, created_at) VALUES ($1, $2, $3)",
            (id, password_hash.to_string(), now_ms),
        )
        .await?;
        let row = Self::user_in(&mut tx, id).await?;
        NewAuditEvent::of(
            "create",
            "users",
            id,
            format!(
                "新建账号 {username}（{}，{}）",
                row.display_name,
                crate::domain::roles::Role::parse(role).map_or(role, |r| r.label())
            ),
        )
        .after(row.to_json(now_ms))
        .write_and_commit(tx, now_ms, actor)
        .await?;
        Ok(row)
    }

    pub async fn update_user(
        &self,
        id: i64,
        ch: UserChanges,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<UserRow> {
        self.clear_auth_cache();
        let mut tx = self.write_tx().await?;
        let before = Self::user_in(&mut tx, id).await?;
        let (phone_set, phone) = match ch.phone {
            Some(p) => (1i64, p),
            None => (0, None),
        };
        let (email_set, email) = match ch.email {
            Some(p) => (1i64, p),
            None => (0, None),
        };
        sqlx::query(
            "UPDATE users SET display_name = COALESCE($1, display_name), role = COALESCE($2, role), \
             phone = CASE WHEN $3 = 1 THEN $4 ELSE phone END, email = CASE WHEN $5 = 1 THEN $6 ELSE email END, \
             disabled = COALESCE($7, disabled), \
             locked_until = CASE WHEN $8 = 1 THEN NULL ELSE locked_until END, \
             failed_logins = CASE WHEN $8 = 1 THEN 0 ELSE failed_logins END, updated_at = $9 WHERE id = $10",
        )
        .bind(ch.display_name)
        .bind(ch.role.clone())
        .bind(phone_set)
        .bind(phone)
        .bind(email_set)
        .bind(email)
        .bind(ch.disabled.map(i64::from))
        .bind(i64::from(ch.unlock))
        .bind(now_ms)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if ch.disabled == Some(true) || ch.role.as_ref().is_some_and(|r| *r != before.role) {
            // A disabled account or a changed role ends every open session.
            db::exec(&mut *tx, "DELETE FROM sessions WHERE user_id = $1", id).await?;
        }
        let after = Self::user_in(&mut tx, id).await?;
        NewAuditEvent::of(
            "update",
            "users",
            id,
            format!("修改账号：{}", after.username),
        )
        .before(before.to_json(now_ms))
        .after(after.to_json(now_ms))
        .write_and_commit(tx, now_ms, actor)
        .await?;
        Ok(after)
    }

    pub async fn delete_user(&self, id: i64, actor: &Actor, now_ms: i64) -> StoreResult<()> {
        self.clear_auth_cache();
        let mut tx = self.write_tx().await?;
        let before = Self::user_in(&mut tx, id).await?;
        db::exec(&mut *tx, "DELETE FROM users WHERE id = $1", id).await?;
        NewAuditEvent::of(
            "delete",
            "users",
            id,
            format!("删除账号：{}", before.username),
        )
        .before(before.to_json(now_ms))
        .write_and_commit(tx, now_ms, actor)
        .await?;
        Ok(())
    }

    /// The hashes of the last `n` passwords, newest first.
    pub async fn password_history(&self, user_id: i64, n: i64) -> StoreResult<Vec<String>> {
        db::values(
            self.pool(),
            "SELECT password_hash FROM password_history WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2",
            (user_id, n),
        )
        .await
    }

    /// Sets a new password, records it in the history and ends the user's other sessions
    /// (all of them when `keep_session` is `None`).
    pub async fn set_password(
        &self,
        user_id: i64,
        hash: &str,
        must_change: bool,
        keep_session: Option<i64>,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<()> {
        self.clear_auth_cache();
        let mut tx = self.write_tx().await?;
        let n = db::exec(
            &mut *tx,
            "UPDATE users SET password_hash = $1, password_changed_at = $2, must_change_password = $3, \
             failed_logins = 0, locked_until = NULL, updated_at = $2 WHERE id = $4",
            (hash.to_string(), now_ms, i64::from(must_change), user_id),
        )
        .await?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        db::exec(
            &mut *tx,
            "INSERT INTO password_history (user_id, password_hash, created_at) VALUES ($1, $2, $3)",
            (user_id, hash.to_string(), now_ms),
        )
        .await?;
        db::exec(
            &mut *tx,
            "DELETE FROM sessions WHERE user_id = $1 AND id <> $2",
            (user_id, keep_session.unwrap_or(-1)),
        )
        .await?;
        let username: String = db::value(
            &mut *tx,
            "SELECT username FROM users WHERE id = $1",
            user_id,
        )
        .await?;
        NewAuditEvent::of(
            if must_change {
                "password_reset"
            } else {
                "password_change"
            },
            "users",
            user_id,
            if must_change {
                format!("重置密码：{username}")
            } else {
                format!("修改密码：{username}")
            },
        )
        .write_and_commit(tx, now_ms, actor)
        .await?;
        Ok(())
    }

    /// Counts a failed login; locks the account when the threshold is reached. Returns the
    /// lock's end when this failure locked it.
    pub async fn record_login_failure(
        &self,
        user_id: i64,
        now_ms: i64,
        threshold: i64,
        lock_ms: i64,
    ) -> StoreResult<Option<i64>> {
        let mut tx = self.write_tx().await?;
        let failed: i64 = db::value(
            &mut *tx,
            "UPDATE users SET failed_logins = failed_logins + 1 WHERE id = $1 RETURNING failed_logins",
            user_id,
        )
        .await?;
        let mut locked = None;
        if failed >= threshold {
            let until = now_ms + lock_ms;
            db::exec(
                &mut *tx,
                "UPDATE users SET locked_until = $1, failed_logins = 0 WHERE id = $2",
                (until, user_id),
            )
            .await?;
            locked = Some(until);
        }
        tx.commit().await?;
        Ok(locked)
    }

    pub async fn record_login_success(&self, user_id: i64, now_ms: i64) -> StoreResult<()> {
        self.write_one(
            "UPDATE users SET failed_logins = 0, locked_until = NULL, last_login_at = $1 WHERE id = $2",
            (now_ms, user_id),
        )
        .await
    }

    pub async fn create_session(
        &self,
        token_hash: &str,
        user_id: i64,
        ip: Option<String>,
        now_ms: i64,
    ) -> StoreResult<i64> {
        db::value(
            self.pool(),
            "INSERT INTO sessions (token_hash, user_id, created_at, last_seen_at, ip) VALUES ($1, $2, $3, $3, $4) RETURNING id",
            (token_hash.to_string(), user_id, now_ms, ip),
        )
        .await
    }

    /// How long a credential read from the database is trusted without reading it again.
    pub const AUTH_CACHE_MS: i64 = 2_000;

    /// Forgets every cached credential (after a logout, password change, revocation …).
    pub fn clear_auth_cache(&self) {
        self.caches.credentials.clear();
    }

    /// `find_credential` through the short-lived cache.
    pub async fn find_credential_cached(
        &self,
        token_hash: &str,
        now_ms: i64,
    ) -> StoreResult<Option<Credential>> {
        if let Some(c) = self.caches.credentials.get(token_hash, now_ms) {
            return Ok(Some(c));
        }
        let c = self.find_credential(token_hash).await?;
        if let Some(c) = &c {
            self.caches
                .credentials
                .insert(token_hash.to_string(), c.clone(), now_ms);
        }
        Ok(c)
    }

    /// Resolves a token hash to a session or an API token and its account, in one query
    /// (this runs on every request).
    pub async fn find_credential(&self, token_hash: &str) -> StoreResult<Option<Credential>> {
        let row: Option<CredentialRow> = db::maybe(
            self.pool(),
            "SELECT 's' AS kind, s.id AS cred_id, s.last_seen_at AS stamp, CAST(0 AS BIGINT) AS revoked, u.id AS user_id, u.username, \
             u.display_name, u.role, u.must_change_password, u.password_changed_at, u.disabled \
             FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1 \
             UNION ALL \
             SELECT 't', k.id, k.expires_at, CAST(CASE WHEN k.revoked_at IS NULL THEN 0 ELSE 1 END AS BIGINT), u.id, u.username, \
             u.display_name, u.role, u.must_change_password, u.password_changed_at, u.disabled \
             FROM api_tokens k JOIN users u ON u.id = k.user_id WHERE k.token_hash = $1",
            token_hash.to_string(),
        )
        .await?;
        Ok(row.map(|r| {
            if r.kind == "s" {
                Credential::Session {
                    id: r.cred_id,
                    last_seen_at: r.stamp,
                    user: r.user,
                }
            } else {
                Credential::ApiToken {
                    id: r.cred_id,
                    expires_at: r.stamp,
                    revoked: r.revoked != 0,
                    user: r.user,
                }
            }
        }))
    }

    pub async fn touch_session(&self, id: i64, now_ms: i64) -> StoreResult<()> {
        let mut tx = self.write_tx().await?;
        self.caches.credentials.update_all(|c| {
            if let Credential::Session {
                id: sid,
                last_seen_at,
                ..
            } = c
                && *sid == id
            {
                *last_seen_at = now_ms;
            }
        });
        db::exec(
            &mut *tx,
            "UPDATE sessions SET last_seen_at = $1 WHERE id = $2",
            (now_ms, id),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records a token's use, at most once a minute per token and process (a write on
    /// every request would make each read cost a write transaction).
    pub async fn touch_api_token(&self, id: i64, now_ms: i64) -> StoreResult<()> {
        if let Ok(mut g) = self.token_touches.lock() {
            if g.get(&id)
                .is_some_and(|t| now_ms >= *t && now_ms - t < 60_000)
            {
                return Ok(());
            }
            if g.len() >= 10_000 {
                g.clear();
            }
            g.insert(id, now_ms);
        }
        self.write_one(
            "UPDATE api_tokens SET last_used_at = $1 WHERE id = $2",
            (now_ms, id),
        )
        .await
    }

    pub async fn delete_session(&self, id: i64) -> StoreResult<()> {
        let mut tx = self.write_tx().await?;
        self.clear_auth_cache();
        db::exec(&mut *tx, "DELETE FROM sessions WHERE id = $1", id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Removes sessions idle since before `idle_before_ms`.
    pub async fn purge_idle_sessions(&self, idle_before_ms: i64) -> StoreResult<u64> {
        let mut tx = self.write_tx().await?;
        self.clear_auth_cache();
        let n = db::exec(
            &mut *tx,
            "DELETE FROM sessions WHERE last_seen_at < $1",
            idle_before_ms,
        )
        .await?;
        tx.commit().await?;
        Ok(n)
    }

    pub async fn create_api_token(
        &self,
        user_id: i64,
        name: &str,
        token_hash: &str,
        expires_at: i64,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<ApiTokenRow> {
        let mut tx = self.write_tx().await?;
        let row: ApiTokenRow = sqlx::query_as(
            "INSERT INTO api_tokens (user_id, name, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5) \
             RETURNING id, user_id, name, created_at, expires_at, revoked_at, last_used_at",
        )
        .bind(user_id)
        .bind(name.to_string())
        .bind(token_hash.to_string())
        .bind(now_ms)
        .bind(expires_at)
        .fetch_one(&mut *tx)
        .await?;
        NewAuditEvent::of(
            "create",
            "api_tokens",
            row.id,
            format!("创建 API 令牌：{name}"),
        )
        .after(row.to_json())
        .write_and_commit(tx, now_ms, actor)
        .await?;
        Ok(row)
    }

    pub async fn list_api_tokens(&self, user_id: i64) -> StoreResult<Vec<ApiTokenRow>> {
        db::all(
            self.pool(),
            "SELECT id, user_id, name, created_at, expires_at, revoked_at, last_used_at FROM api_tokens \
             WHERE user_id = $1 ORDER BY id DESC",
            user_id,
        )
        .await
    }

    /// Revokes one of a user's tokens.
    pub async fn revoke_api_token(
        &self,
        user_id: i64,
        id: i64,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<()> {
        self.clear_auth_cache();
        let mut tx = self.write_tx().await?;
        let n = db::exec(
            &mut *tx,
            "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL",
            (now_ms, id, user_id),
        )
        .await?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        NewAuditEvent::of("revoke", "api_tokens", id, format!("吊销 API 令牌 #{id}"))
            .write_and_commit(tx, now_ms, actor)
            .await?;
        Ok(())
    }

    /// System ids assigned to the staff member linked to this account.
    pub async fn assigned_system_ids(&self, user_id: i64) -> StoreResult<Vec<i64>> {
        db::values(
            self.pool(),
            "SELECT DISTINCT a.system_id FROM assignments a JOIN staff s ON s.id = a.staff_id WHERE s.user_id = $1",
            user_id,
        )
        .await
    }

    /// Whether an asset serves one of the given systems.
    pub async fn asset_in_systems(&self, asset_id: i64, user_id: i64) -> StoreResult<bool> {
        let n: i64 = db::value(
            self.pool(),
            "SELECT COUNT(*) FROM system_assets sa JOIN assignments a ON a.system_id = sa.system_id \
             JOIN staff s ON s.id = a.staff_id WHERE sa.asset_id = $1 AND s.user_id = $2",
            (asset_id, user_id),
        )
        .await?;
        Ok(n > 0)
    }
}
