//! Account services shared by the API and the pages: login with lockout, sessions with
//! idle timeout, API tokens, password changes under the 等保 policy, the first admin.

pub mod audit;
pub mod input;

use password_hash::rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};

use crate::Ctx;
use crate::domain::FieldError;
use crate::domain::password::check_policy;
use crate::domain::roles::{Perm, Role};
use crate::error::{AppError, AppResult};
use crate::store::Actor;
use crate::store::audit::{NewAuditEvent, hex};
use crate::store::users::{Credential, UserChanges, UserRow};
use input::{UserCreate, UserUpdate};

/// The signed-in user of a request.
#[derive(Clone, Debug)]
pub struct AuthUser {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    /// The password must be changed before anything else (first login, reset or expiry).
    pub must_change_password: bool,
    pub password_expired: bool,
    pub session_id: Option<i64>,
    pub ip: Option<String>,
}

impl AuthUser {
    /// yunwei itself acting (monitoring, intake): id 0, a lead's rights on tickets, no session.
    pub fn system(what: &str) -> AuthUser {
        AuthUser {
            id: 0,
            username: format!("system:{what}"),
            display_name: format!("system:{what}"),
            role: Role::Manager,
            must_change_password: false,
            password_expired: false,
            session_id: None,
            ip: None,
        }
    }

    /// The user id to record, `None` for yunwei itself.
    pub fn uid(&self) -> Option<i64> {
        (self.id > 0).then_some(self.id)
    }

    pub fn actor(&self) -> Actor {
        Actor {
            user_id: self.uid(),
            name: self.username.clone(),
            ip: self.ip.clone(),
        }
    }
}

pub struct LoginOutcome {
    pub token: String,
    pub user: UserRow,
    pub must_change_password: bool,
    pub password_expired: bool,
}

fn random_hex(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    OsRng.fill_bytes(&mut b);
    hex(&b)
}

/// Tokens are stored only as their SHA-256.
pub fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// An argon2id hash of the password, on the process's bounded hashing pool.
pub async fn hash_password(password: &str) -> AppResult<String> {
    crate::gate::Hasher::global()
        .hash(password)
        .await
        .map_err(|_| AppError::hasher_busy())?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("argon2 hash failed")))
}

/// Whether the password matches; every call costs one argon2 run on the bounded pool.
pub async fn verify_password(hash: &str, password: &str) -> AppResult<bool> {
    crate::gate::Hasher::global()
        .verify(hash, password)
        .await
        .map_err(|_| AppError::hasher_busy())
}

/// A random password that satisfies the policy (for the first admin and resets).
pub fn generate_password() -> String {
    const LOWER: &[u8] = b"abcdefghijkmnpqrstuvwxyz";
    const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
    const DIGIT: &[u8] = b"23456789";
    const SYM: &[u8] = b"#%+=@";
    let mut out = Vec::new();
    let mut pick = |set: &[u8]| {
        let i = (OsRng.next_u32() as usize) % set.len();
        out.push(set[i] as char);
    };
    for set in [LOWER, UPPER, DIGIT, SYM] {
        pick(set);
    }
    for i in 0..12 {
        pick([LOWER, UPPER, DIGIT][i % 3]);
    }
    out.into_iter().collect()
}

fn lock_message(until_ms: i64, now_ms: i64) -> String {
    let minutes = ((until_ms - now_ms) as f64 / 60_000.0).ceil().max(1.0) as i64;
    format!("账号因多次密码错误已被锁定，请在 {minutes} 分钟后重试，或联系系统管理员解锁")
}

/// Checks a username and password and opens a session. Failures are counted per client
/// IP; past the configured number within the window the answer is 429 with the seconds
/// to wait, before any password is hashed. The per-account lockout applies as well.
pub async fn login(
    ctx: &Ctx,
    username: &str,
    password: &str,
    ip: Option<String>,
) -> AppResult<LoginOutcome> {
    if username.trim().is_empty() || password.is_empty() {
        return Err(AppError::invalid("username", "请填写用户名和密码"));
    }
    let username = username.trim();
    let now = ctx.clock.now_ms();
    let addr = ip
        .as_deref()
        .and_then(|s| s.parse::<std::net::IpAddr>().ok());
    let attempt = match addr.map(|a| ctx.gates.logins.begin(a, now)).transpose() {
        Ok(attempt) => attempt,
        Err(wait) => {
            tracing::warn!(ip = ?addr, "login refused: too many failures from this address");
            return Err(AppError::TooManyRequests {
                message: format!("该地址登录失败次数过多，请在 {wait} 秒后重试"),
                retry_after: Some(wait),
            });
        }
    };
    let out = match ctx.gates.credential_checks.acquire().await {
        Ok(_permit) => check_credentials(ctx, username, password, ip).await,
        Err(e) => Err(AppError::Internal(anyhow::anyhow!(
            "login gate closed: {e}"
        ))),
    };
    if let (Some(attempt), Err(AppError::Unauthorized(_) | AppError::Locked(_))) = (attempt, &out) {
        attempt.failed(now);
    }
    out
}

async fn check_credentials(
    ctx: &Ctx,
    username: &str,
    password: &str,
    ip: Option<String>,
) -> AppResult<LoginOutcome> {
    let now = ctx.clock.now_ms();
    let sec = &ctx.config.security;
    let actor = Actor {
        user_id: None,
        name: username.chars().take(64).collect(),
        ip: ip.clone(),
    };
    let fail = |summary: String| NewAuditEvent::about("login_failed", "session", summary);
    let user = match ctx.store.user_by_username(username).await? {
        Some(u) => u,
        None => {
            // Same work and answer as a wrong password, so usernames cannot be probed.
            let _ = verify_password("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", password).await?;
            ctx.store
                .audit(now, &actor, fail("登录失败：用户名不存在".into()))
                .await?;
            return Err(AppError::Unauthorized("用户名或密码错误".into()));
        }
    };
    let actor = Actor {
        user_id: Some(user.id),
        ..actor
    };
    if let Some(until) = user.locked_until.filter(|u| *u > now) {
        ctx.store
            .audit(now, &actor, fail("登录失败：账号已锁定".into()))
            .await?;
        return Err(AppError::Locked(lock_message(until, now)));
    }
    if !verify_password(&user.password_hash, password).await? {
        let locked = ctx
            .store
            .record_login_failure(
                user.id,
                now,
                sec.lockout_threshold,
                sec.lockout_minutes * 60_000,
            )
            .await?;
        if let Some(until) = locked {
            ctx.store
                .audit(
                    now,
                    &actor,
                    fail(format!(
                        "登录失败：密码错误，账号锁定至 {}",
                        crate::clock::local_minutes(until)
                    )),
                )
                .await?;
            return Err(AppError::Locked(lock_message(until, now)));
        }
        ctx.store
            .audit(now, &actor, fail("登录失败：密码错误".into()))
            .await?;
        return Err(AppError::Unauthorized("用户名或密码错误".into()));
    }
    if user.disabled != 0 {
        ctx.store
            .audit(now, &actor, fail("登录失败：账号已停用".into()))
            .await?;
        return Err(AppError::Unauthorized(
            "账号已停用，请联系系统管理员".into(),
        ));
    }
    ctx.store.record_login_success(user.id, now).await?;
    let token = format!("ys_{}", random_hex(32));
    let session_id = ctx
        .store
        .create_session(&token_hash(&token), user.id, ip, now)
        .await?;
    let expired = password_expired(ctx, &user, now);
    ctx.store
        .audit(
            now,
            &actor,
            NewAuditEvent::of(
                "login",
                "session",
                session_id,
                format!("登录成功：{}", user.username),
            ),
        )
        .await?;
    Ok(LoginOutcome {
        token,
        must_change_password: user.must_change_password != 0 || expired,
        password_expired: expired,
        user,
    })
}

fn password_expired(ctx: &Ctx, user: &UserRow, now: i64) -> bool {
    now - user.password_changed_at > ctx.config.security.password_max_age_days * 86_400_000
}

/// Resolves a bearer token or session cookie to the signed-in user, enforcing idle
/// timeout, token expiry and revocation, and disabled accounts.
pub async fn authenticate(ctx: &Ctx, token: &str, ip: Option<String>) -> AppResult<AuthUser> {
    let now = ctx.clock.now_ms();
    let unauth = |m: &str| AppError::Unauthorized(m.into());
    let cred = ctx
        .store
        .find_credential_cached(&token_hash(token), now)
        .await?
        .ok_or_else(|| unauth("请先登录"))?;
    let (user, session_id) = match cred {
        Credential::Session {
            id,
            last_seen_at,
            user,
        } => {
            let idle_ms = ctx.config.security.idle_timeout_minutes * 60_000;
            if now - last_seen_at > idle_ms {
                ctx.store.delete_session(id).await?;
                ctx.store
                    .audit(
                        now,
                        &Actor {
                            user_id: Some(user.user_id),
                            name: user.username.clone(),
                            ip: ip.clone(),
                        },
                        NewAuditEvent::of("session_timeout", "session", id, "会话超时，已自动退出"),
                    )
                    .await?;
                return Err(unauth("会话已超时，请重新登录"));
            }
            // Writing on every request would make reads cost a write; 15 s is precise enough.
            if now - last_seen_at > 15_000 {
                ctx.store.touch_session(id, now).await?;
            }
            (user, Some(id))
        }
        Credential::ApiToken {
            id,
            expires_at,
            revoked,
            user,
        } => {
            if revoked {
                return Err(unauth("API 令牌已被吊销"));
            }
            if expires_at <= now {
                return Err(unauth("API 令牌已过期，请重新创建"));
            }
            ctx.store.touch_api_token(id, now).await?;
            (user, None)
        }
    };
    if user.disabled != 0 {
        return Err(unauth("账号已停用，请联系系统管理员"));
    }
    let role = Role::parse(&user.role)
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("unknown role {}", user.role)))?;
    let expired =
        now - user.password_changed_at > ctx.config.security.password_max_age_days * 86_400_000;
    Ok(AuthUser {
        id: user.user_id,
        username: user.username,
        display_name: user.display_name,
        role,
        must_change_password: user.must_change_password != 0 || expired,
        password_expired: expired,
        session_id,
        ip,
    })
}

pub async fn logout(ctx: &Ctx, user: &AuthUser) -> AppResult<()> {
    if let Some(id) = user.session_id {
        ctx.store.delete_session(id).await?;
    }
    ctx.store
        .audit(
            ctx.clock.now_ms(),
            &user.actor(),
            NewAuditEvent {
                entity_id: user.session_id.map(|i| i.to_string()),
                ..NewAuditEvent::about("logout", "session", format!("退出登录：{}", user.username))
            },
        )
        .await?;
    Ok(())
}

/// Checks a new password against the policy and the last N passwords.
async fn check_new_password(ctx: &Ctx, user_id: i64, username: &str, new: &str) -> AppResult<()> {
    check_policy(new, username, &ctx.config.security.password_policy())
        .map_err(|m| AppError::invalid("new_password", m))?;
    let n = ctx.config.security.password_history as i64;
    for old in ctx.store.password_history(user_id, n).await? {
        if verify_password(&old, new).await? {
            return Err(AppError::invalid(
                "new_password",
                format!("新密码不能与最近 {n} 次使用过的密码相同"),
            ));
        }
    }
    Ok(())
}

/// The user changes their own password; other sessions end.
pub async fn change_password(
    ctx: &Ctx,
    user: &AuthUser,
    current: &str,
    new: &str,
) -> AppResult<()> {
    let row = ctx.store.user_by_id(user.id).await?;
    if !verify_password(&row.password_hash, current).await? {
        return Err(AppError::invalid("current_password", "当前密码不正确"));
    }
    check_new_password(ctx, user.id, &user.username, new).await?;
    let hash = hash_password(new).await?;
    ctx.store
        .set_password(
            user.id,
            &hash,
            false,
            user.session_id,
            &user.actor(),
            ctx.clock.now_ms(),
        )
        .await?;
    Ok(())
}

/// An admin sets a new password for someone; it must be changed at next login.
pub async fn reset_password(ctx: &Ctx, admin: &AuthUser, user_id: i64, new: &str) -> AppResult<()> {
    check_manage(admin)?;
    let row = ctx.store.user_by_id(user_id).await?;
    check_new_password(ctx, user_id, &row.username, new).await?;
    let hash = hash_password(new).await?;
    ctx.store
        .set_password(
            user_id,
            &hash,
            true,
            None,
            &admin.actor(),
            ctx.clock.now_ms(),
        )
        .await?;
    Ok(())
}

/// Admin recovery from the command line (`yunwei user reset-password USERNAME`): sets a
/// generated one-time password that must be changed at the next login, clears a lockout,
/// ends the user's sessions and writes an audit record with `actor`. Returns the password
/// (to print once) and the account. `NotFound` when there is no such user.
pub async fn reset_password_offline(
    ctx: &Ctx,
    username: &str,
    actor: &Actor,
) -> AppResult<(String, UserRow)> {
    let user = ctx
        .store
        .user_by_username(username)
        .await?
        .ok_or(AppError::NotFound)?;
    let password = generate_password_for(&user.username, &ctx.config.security.password_policy())?;
    let hash = hash_password(&password).await?;
    ctx.store
        .set_password(user.id, &hash, true, None, actor, ctx.clock.now_ms())
        .await?;
    Ok((password, user))
}

/// A generated password that meets the configured policy for this username.
fn generate_password_for(
    username: &str,
    policy: &crate::domain::password::PasswordPolicy,
) -> AppResult<String> {
    for _ in 0..100 {
        let mut p = generate_password();
        // A policy may ask for more than the 16 generated characters.
        while p.chars().count() < policy.min_length {
            p.push_str(&generate_password());
        }
        if check_policy(&p, username, policy).is_ok() {
            return Ok(p);
        }
    }
    Err(AppError::Internal(anyhow::anyhow!(
        "no generated password met the password policy"
    )))
}

pub fn validate_username(u: &str) -> Result<(), String> {
    let ok = (2..=32).contains(&u.chars().count())
        && u.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        && u.chars().next().is_some_and(|c| c.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err("用户名需为 2–32 位字母、数字或 . _ -，且以字母或数字开头".into())
    }
}

/// Account management is the admin's.
fn check_manage(u: &AuthUser) -> AppResult<()> {
    if u.role.can(Perm::ManageUsers) {
        Ok(())
    } else {
        Err(AppError::forbidden())
    }
}

/// An optional text of an account (name, phone, e-mail), checked for length and control
/// characters; a problem is added to `errs`.
fn account_text(
    key: &str,
    label: &str,
    max: usize,
    v: Option<String>,
    errs: &mut Vec<FieldError>,
) -> Option<String> {
    let v = v?;
    match crate::domain::text::check_field(label, &v, max > 200, max) {
        Ok(()) => Some(v),
        Err(m) => {
            errs.push(FieldError::new(key, m));
            None
        }
    }
}

/// Accounts matching a search and a role, one page of them, with the total.
pub async fn list_users(
    ctx: &Ctx,
    admin: &AuthUser,
    q: Option<&str>,
    role: Option<&str>,
    limit: i64,
    offset: i64,
) -> AppResult<(Vec<UserRow>, i64)> {
    check_manage(admin)?;
    let role = role.filter(|r| !r.is_empty());
    if let Some(r) = role {
        Role::parse(r).ok_or_else(|| AppError::invalid("role", format!("角色“{r}”不存在")))?;
    }
    let q = q.filter(|s| !s.is_empty());
    Ok(ctx.store.list_users(q, role, limit, offset).await?)
}

/// One account: one's own, or any for the admin.
pub async fn user(ctx: &Ctx, u: &AuthUser, id: i64) -> AppResult<UserRow> {
    if u.id != id {
        check_manage(u)?;
    }
    Ok(ctx.store.user_by_id(id).await?)
}

/// Creates an account; a password set by an admin must be changed at first login. Every
/// problem of the fields is reported at once; the password policy is checked after.
pub async fn create_user(ctx: &Ctx, admin: &AuthUser, input: UserCreate) -> AppResult<UserRow> {
    check_manage(admin)?;
    let mut errs = Vec::new();
    let username = input.username.trim().to_string();
    if username.is_empty() {
        errs.push(FieldError::new("username", "请填写用户名"));
    } else if let Err(m) = validate_username(&username) {
        errs.push(FieldError::new("username", m));
    }
    let display_name = account_text("display_name", "姓名", 50, input.display_name, &mut errs)
        .unwrap_or_else(|| username.clone());
    if input.password.is_empty() {
        errs.push(FieldError::new("password", "请填写初始密码"));
    }
    let phone = account_text("phone", "电话", 40, input.phone, &mut errs);
    let email = account_text("email", "邮箱", 200, input.email, &mut errs);
    if !errs.is_empty() {
        return Err(AppError::Validation(errs));
    }
    let role = input.role.role();
    check_policy(
        &input.password,
        &username,
        &ctx.config.security.password_policy(),
    )
    .map_err(|m| AppError::invalid("password", m))?;
    let hash = hash_password(&input.password).await?;
    Ok(ctx
        .store
        .create_user(
            &username,
            &display_name,
            role.as_str(),
            phone,
            email,
            &hash,
            true,
            &admin.actor(),
            ctx.clock.now_ms(),
        )
        .await?)
}

/// Changes an account. The username cannot change, passwords change by a reset, and the
/// admin can neither disable their own account nor give up their own admin role.
pub async fn update_user(
    ctx: &Ctx,
    admin: &AuthUser,
    id: i64,
    input: UserUpdate,
) -> AppResult<UserRow> {
    check_manage(admin)?;
    let mut errs = Vec::new();
    if input.password.is_some() {
        errs.push(FieldError::new("password", "请使用“重置密码”修改他人密码"));
    }
    if let Some(u) = &input.username {
        let current = ctx.store.user_by_id(id).await?;
        if *u != current.username {
            errs.push(FieldError::new("username", "用户名创建后不能修改"));
        }
    }
    let display_name = match input.display_name {
        None => None,
        Some(None) => {
            errs.push(FieldError::new("display_name", "请填写姓名"));
            None
        }
        Some(v) => account_text("display_name", "姓名", 50, v, &mut errs),
    };
    let role = input.role.map(|r| r.role());
    let text = |key: &str,
                label: &str,
                max: usize,
                v: Option<Option<String>>,
                errs: &mut Vec<FieldError>| {
        match v {
            None => None,
            Some(None) => Some(None),
            Some(v) => account_text(key, label, max, v, errs).map(Some),
        }
    };
    let phone = text("phone", "电话", 40, input.phone, &mut errs);
    let email = text("email", "邮箱", 200, input.email, &mut errs);
    if id == admin.id && (input.disabled == Some(true) || role.is_some_and(|r| r != Role::Admin)) {
        errs.push(FieldError::new(
            "role",
            "不能停用自己的账号或取消自己的管理员角色",
        ));
    }
    if !errs.is_empty() {
        return Err(AppError::Validation(errs));
    }
    let ch = UserChanges {
        display_name,
        role: role.map(|r| r.as_str().to_string()),
        phone,
        email,
        disabled: input.disabled,
        unlock: input.unlock.unwrap_or(false),
    };
    let now = ctx.clock.now_ms();
    Ok(ctx.store.update_user(id, ch, &admin.actor(), now).await?)
}

/// Deletes an account other than one's own.
pub async fn delete_user(ctx: &Ctx, admin: &AuthUser, id: i64) -> AppResult<()> {
    check_manage(admin)?;
    if id == admin.id {
        return Err(AppError::Conflict("不能删除自己的账号".into()));
    }
    ctx.store
        .delete_user(id, &admin.actor(), ctx.clock.now_ms())
        .await?;
    Ok(())
}

/// Revokes one of the user's own API tokens.
pub async fn revoke_api_token(ctx: &Ctx, user: &AuthUser, id: i64) -> AppResult<()> {
    ctx.store
        .revoke_api_token(user.id, id, &user.actor(), ctx.clock.now_ms())
        .await?;
    Ok(())
}

/// Creates an API token for the user; the clear token is returned once.
pub async fn create_api_token(
    ctx: &Ctx,
    user: &AuthUser,
    name: &str,
    days: i64,
) -> AppResult<(String, crate::store::users::ApiTokenRow)> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(AppError::invalid(
            "name",
            "请填写令牌名称（不超过 100 个字符）",
        ));
    }
    let max = ctx.config.security.api_token_max_days;
    if days < 1 || days > max {
        return Err(AppError::invalid(
            "expires_in_days",
            format!("有效期应在 1 到 {max} 天之间"),
        ));
    }
    let token = format!("yw_{}", random_hex(32));
    let now = ctx.clock.now_ms();
    let row = ctx
        .store
        .create_api_token(
            user.id,
            name,
            &token_hash(&token),
            now + days * 86_400_000,
            &user.actor(),
            now,
        )
        .await?;
    Ok((token, row))
}

/// Creates the first `admin` account when there is none. Returns the generated password
/// when one was generated (to print once).
pub async fn ensure_first_admin(ctx: &Ctx) -> anyhow::Result<Option<String>> {
    if ctx.store.count_users().await? > 0 {
        if ctx.config.admin_password.is_some() {
            tracing::warn!(
                "YUNWEI_ADMIN_PASSWORD (admin_password) is set but was ignored: this database already has accounts, \
                 and the variable only sets the first admin's password on an empty database. \
                 To recover the admin account run `yunwei user reset-password admin`, then unset the variable"
            );
        }
        return Ok(None);
    }
    let (password, generated) = match &ctx.config.admin_password {
        Some(p) => (p.0.clone(), false),
        None => (generate_password(), true),
    };
    let hash = hash_password(&password)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    ctx.store
        .create_user(
            "admin",
            "系统管理员",
            "admin",
            None,
            None,
            &hash,
            generated,
            &Actor::system("bootstrap"),
            ctx.clock.now_ms(),
        )
        .await?;
    Ok(generated.then_some(password))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_one_time_passwords_meet_a_stricter_policy() {
        let policy = crate::domain::password::PasswordPolicy {
            min_length: 40,
            ..Default::default()
        };
        let p = generate_password_for("ab", &policy).unwrap();
        assert!(check_policy(&p, "ab", &policy).is_ok(), "{p}");
    }

    #[test]
    fn generated_passwords_meet_the_policy() {
        for _ in 0..50 {
            let p = generate_password();
            assert!(
                check_policy(&p, "admin", &Default::default()).is_ok(),
                "{p}"
            );
        }
    }
}
