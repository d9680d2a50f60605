//! 等保 level-2 account controls: passwords, lockout, idle timeout, expiry, tokens.

use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test]
async fn login_answers_a_token_and_a_bad_password_is_401_with_the_error_shape() {
    let app = spawn_app().await;
    let r = app.login("admin", ADMIN_PASSWORD).await;
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    assert!(v["token"].as_str().unwrap().len() > 40);
    assert_eq!(v["must_change_password"], json!(false));

    let r = app.login("admin", "wrong").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(&r.json().await.unwrap()), "unauthorized");
    let r = app.login("nobody", "wrong").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn login_with_missing_fields_or_wrong_types_is_4xx_and_never_5xx() {
    let app = spawn_app().await;
    for body in [
        json!({}),
        json!({"username": "admin"}),
        json!({"username": 1, "password": 2}),
        json!([1, 2]),
        json!({"username": "admin", "password": "x", "extra": 1}),
    ] {
        let r = app
            .client
            .post(app.url("/api/v1/auth/login"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_client_error(), "{body}: {}", r.status());
        error_code(&r.json().await.unwrap());
    }
    let r = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .body("{not json")
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn api_calls_without_or_with_a_bad_token_are_401() {
    let app = spawn_app().await;
    let r = app.anon_get("/api/v1/systems").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    error_code(&r.json().await.unwrap());
    let r = app.get("ys_not-a-token", "/api/v1/systems").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_generated_first_admin_password_must_be_changed_at_first_login() {
    let app = spawn_with(Options {
        admin_password: None,
        ..Options::default()
    })
    .await;
    let pw = app
        .generated_admin_password
        .clone()
        .expect("a generated password");
    let r = app.login("admin", &pw).await;
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["must_change_password"], json!(true));
    let token = v["token"].as_str().unwrap().to_string();

    let v = app
        .get_json_expect(&token, "/api/v1/systems", StatusCode::FORBIDDEN)
        .await;
    assert_eq!(error_code(&v), "password_change_required");

    app.post_expect(
        &token,
        "/api/v1/auth/password",
        &json!({"current_password": pw, "new_password": "Brand#New2026"}),
        StatusCode::NO_CONTENT,
    )
    .await;
    app.get_json_expect(&token, "/api/v1/systems", StatusCode::OK)
        .await;
    assert_eq!(
        app.login("admin", &pw).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn weak_or_reused_passwords_are_refused_with_a_chinese_reason_and_change_nothing() {
    let app = spawn_app().await;
    let t = &app.admin_token;
    let cases = [
        ("Ab1#", "至少"),
        ("abcdefgh123", "至少 3 类"),
        ("Xadmin#2026", "用户名"),
        (ADMIN_PASSWORD, "最近"),
    ];
    for (new, needle) in cases {
        let (s, v) = app
            .post(
                t,
                "/api/v1/auth/password",
                &json!({"current_password": ADMIN_PASSWORD, "new_password": new}),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{new}");
        assert!(error_message(&v).contains(needle), "{new}: {v}");
    }
    let v = app
        .post_expect(
            t,
            "/api/v1/auth/password",
            &json!({"current_password": "wrong", "new_password": "Good#Pass99"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    assert!(error_message(&v).contains("当前密码"));
    // The old password still works.
    app.login_ok("admin", ADMIN_PASSWORD).await;
}

#[tokio::test]
async fn none_of_the_last_five_passwords_can_be_reused() {
    let app = spawn_app().await;
    let t = app.admin_token.clone();
    let mut current = ADMIN_PASSWORD.to_string();
    let pws = [
        "First#Pass11",
        "Second#Pass22",
        "Third#Pass33",
        "Fourth#Pass44",
        "Fifth#Pass55",
    ];
    for p in pws {
        app.post_expect(
            &t,
            "/api/v1/auth/password",
            &json!({"current_password": current, "new_password": p}),
            StatusCode::NO_CONTENT,
        )
        .await;
        current = p.to_string();
    }
    // The original is now 6 back: allowed. The second is 4 back: refused.
    app.post_expect(
        &t,
        "/api/v1/auth/password",
        &json!({"current_password": current, "new_password": "Second#Pass22"}),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    app.post_expect(
        &t,
        "/api/v1/auth/password",
        &json!({"current_password": current, "new_password": ADMIN_PASSWORD}),
        StatusCode::NO_CONTENT,
    )
    .await;
}

#[tokio::test]
async fn five_failed_logins_lock_the_account_for_thirty_minutes() {
    let app = spawn_app().await;
    app.user_with_role("zhang", "engineer").await;
    for i in 0..4 {
        assert_eq!(
            app.login("zhang", "Wrong#pass1").await.status(),
            StatusCode::UNAUTHORIZED,
            "attempt {i}"
        );
    }
    let r = app.login("zhang", "Wrong#pass1").await;
    assert_eq!(r.status(), StatusCode::LOCKED);
    let v: Value = r.json().await.unwrap();
    assert_eq!(error_code(&v), "account_locked");
    assert!(error_message(&v).contains("30 分钟"));
    // Even the right password is refused while locked.
    assert_eq!(
        app.login("zhang", "Changed#Pass2").await.status(),
        StatusCode::LOCKED
    );
    app.clock.advance(Duration::minutes(29));
    assert_eq!(
        app.login("zhang", "Changed#Pass2").await.status(),
        StatusCode::LOCKED
    );
    app.clock.advance(Duration::minutes(2));
    assert_eq!(
        app.login("zhang", "Changed#Pass2").await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn an_admin_can_unlock_a_locked_account() {
    let app = spawn_app().await;
    let (id, _) = app.user_with_role("li", "operator").await;
    for _ in 0..5 {
        app.login("li", "Wrong#pass1").await;
    }
    assert_eq!(
        app.login("li", "Changed#Pass2").await.status(),
        StatusCode::LOCKED
    );
    app.patch_expect(
        &app.admin_token,
        &format!("/api/v1/users/{id}"),
        &json!({"unlock": true}),
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        app.login("li", "Changed#Pass2").await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_session_idle_for_thirty_minutes_ends() {
    let app = spawn_app().await;
    let t = app.admin_token.clone();
    app.clock.advance(Duration::minutes(29));
    assert_eq!(
        app.get(&t, "/api/v1/systems").await.status(),
        StatusCode::OK
    );
    // Activity moved the idle window.
    app.clock.advance(Duration::minutes(29));
    assert_eq!(
        app.get(&t, "/api/v1/systems").await.status(),
        StatusCode::OK
    );
    app.clock.advance(Duration::minutes(31));
    let v = app
        .get_json_expect(&t, "/api/v1/systems", StatusCode::UNAUTHORIZED)
        .await;
    assert!(error_message(&v).contains("超时"));
    // The session is gone for good.
    app.clock.advance(Duration::seconds(-3600));
    assert_eq!(
        app.get(&t, "/api/v1/systems").await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_password_older_than_ninety_days_must_be_changed() {
    let app = spawn_app().await;
    app.clock.advance(Duration::days(91));
    let r = app.login("admin", ADMIN_PASSWORD).await;
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["must_change_password"], json!(true));
    assert_eq!(v["password_expired"], json!(true));
    let t = v["token"].as_str().unwrap().to_string();
    let v = app
        .get_json_expect(&t, "/api/v1/assets", StatusCode::FORBIDDEN)
        .await;
    assert_eq!(error_code(&v), "password_change_required");
    app.post_expect(
        &t,
        "/api/v1/auth/password",
        &json!({"current_password": ADMIN_PASSWORD, "new_password": "Renewed#2027"}),
        StatusCode::NO_CONTENT,
    )
    .await;
    assert_eq!(app.get(&t, "/api/v1/assets").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn api_tokens_are_stored_hashed_expire_and_can_be_revoked() {
    let app = spawn_app().await;
    let v = app
        .post_expect(
            &app.admin_token,
            "/api/v1/api-tokens",
            &json!({"name": "备份脚本", "expires_in_days": 10}),
            StatusCode::CREATED,
        )
        .await;
    let token = v["token"].as_str().unwrap().to_string();
    let id = v["id"].as_i64().unwrap();
    let stored: Vec<String> = sqlx::query_scalar("SELECT token_hash FROM api_tokens")
        .fetch_all(app.ctx.store.pool())
        .await
        .unwrap();
    assert!(
        !stored.iter().any(|h| h.contains(&token)),
        "the clear token must not be stored"
    );

    assert_eq!(
        app.get(&token, "/api/v1/systems").await.status(),
        StatusCode::OK
    );
    // Tokens do not idle out like sessions, but they expire.
    app.clock.advance(Duration::days(9));
    assert_eq!(
        app.get(&token, "/api/v1/systems").await.status(),
        StatusCode::OK
    );
    app.clock.advance(Duration::days(2));
    assert_eq!(
        app.get(&token, "/api/v1/systems").await.status(),
        StatusCode::UNAUTHORIZED
    );
    app.clock.advance(Duration::days(-11));

    let admin = app.login_ok("admin", ADMIN_PASSWORD).await;
    assert_eq!(
        app.delete(&admin, &format!("/api/v1/api-tokens/{id}"))
            .await,
        StatusCode::NO_CONTENT
    );
    let v = app
        .get_json_expect(&token, "/api/v1/systems", StatusCode::UNAUTHORIZED)
        .await;
    assert!(error_message(&v).contains("吊销"));

    app.post_expect(
        &admin,
        "/api/v1/api-tokens",
        &json!({"name": "x", "expires_in_days": 100000}),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
}

#[tokio::test]
async fn logout_ends_the_session_and_a_disabled_account_cannot_sign_in() {
    let app = spawn_app().await;
    let (id, t) = app.user_with_role("wang", "manager").await;
    let r = app
        .client
        .post(app.url("/api/v1/auth/logout"))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.get(&t, "/api/v1/me").await.status(),
        StatusCode::UNAUTHORIZED
    );

    let t2 = app.login_ok("wang", "Changed#Pass2").await;
    app.patch_expect(
        &app.admin_token,
        &format!("/api/v1/users/{id}"),
        &json!({"disabled": true}),
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        app.get(&t2, "/api/v1/me").await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.login("wang", "Changed#Pass2").await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_password_reset_by_the_admin_must_be_changed_at_next_login() {
    let app = spawn_app().await;
    let (id, _) = app.user_with_role("zhao", "engineer").await;
    let r = app
        .client
        .post(app.url(&format!("/api/v1/users/{id}/reset-password")))
        .bearer_auth(&app.admin_token)
        .json(&json!({"new_password": "Reset#Pass77"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let v: Value = app
        .login("zhao", "Reset#Pass77")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["must_change_password"], json!(true));
}

#[tokio::test]
async fn user_creation_validates_every_field_and_changes_nothing_on_error() {
    let app = spawn_app().await;
    let before = app.total("/api/v1/users").await;
    let bad = [
        json!({"username": "a b", "role": "engineer", "password": "Good#Pass11"}),
        json!({"username": "ok", "role": "root", "password": "Good#Pass11"}),
        json!({"username": "ok", "role": "engineer", "password": "short"}),
        json!({"username": "ok", "role": "engineer"}),
        json!({"username": "ok", "role": "engineer", "password": "Good#Pass11", "is_admin": true}),
        json!({"username": 5, "role": "engineer", "password": "Good#Pass11"}),
    ];
    for b in bad {
        let (s, v) = app.post(&app.admin_token, "/api/v1/users", &b).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}: {v}");
        error_code(&v);
    }
    app.post_expect(
        &app.admin_token,
        "/api/v1/users",
        &json!({"username": "admin", "role": "engineer", "password": "Good#Pass11"}),
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(app.total("/api/v1/users").await, before);
}

#[tokio::test]
async fn an_account_patch_clears_a_blank_phone_and_refuses_a_password_with_a_pointer_to_the_reset()
{
    let app = spawn_app().await;
    let (s, v) = app
        .post(&app.admin_token, "/api/v1/users", &json!({"username": "sun", "role": "engineer", "password": "Good#Pass11", "phone": "13800000000"}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["display_name"], json!("sun"));
    let id = v["id"].as_i64().unwrap();
    let (s, v) = app
        .patch(
            &app.admin_token,
            &format!("/api/v1/users/{id}"),
            &json!({"password": "Other#Pass22"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["details"][0]["field"], json!("password"));
    assert_eq!(v["error"]["message"], json!("请使用“重置密码”修改他人密码"));
    let (s, v) = app
        .patch(
            &app.admin_token,
            &format!("/api/v1/users/{id}"),
            &json!({"phone": "", "display_name": "孙工"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["phone"], Value::Null, "{v}");
    assert_eq!(v["display_name"], json!("孙工"));
    let (s, v) = app
        .patch(
            &app.admin_token,
            &format!("/api/v1/users/{id}"),
            &json!({"display_name": " "}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["message"], json!("请填写姓名"));
}
