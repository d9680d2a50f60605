//! Database probes: connect and `SELECT 1` to PostgreSQL or MySQL.

use std::time::Instant;

use super::{Clients, Outcome, ProbeSpec, cfg_i64, ms};

pub(super) async fn probe(p: &ProbeSpec, postgres: bool, clients: &Clients) -> Outcome {
    use sqlx::Connection;
    let start = Instant::now();
    let result: Result<(), (&'static str, String)> = async {
        if postgres {
            let mut opts: sqlx::postgres::PgConnectOptions = p
                .target
                .parse()
                .map_err(|e| ("connect", format!("连接地址无效：{e}")))?;
            if let Some(pw) = &p.secret {
                opts = opts.password(pw);
            }
            // The trust policy's bundle, unless the target names its own CA.
            if let Some(ca) = clients.tls.ca_file()
                && !crate::tls::names_own_ca(&p.target)
            {
                opts = opts.ssl_root_cert(ca);
            }
            let mut conn = sqlx::PgConnection::connect_with(&opts)
                .await
                .map_err(|e| ("connect", format!("连接失败：{e}")))?;
            let _: i32 = sqlx::query_scalar("SELECT 1")
                .fetch_one(&mut conn)
                .await
                .map_err(|e| ("query", format!("SELECT 1 失败：{e}")))?;
            let _ = conn.close().await;
        } else {
            let target = p.target.replacen("mariadb://", "mysql://", 1);
            let mut opts: sqlx::mysql::MySqlConnectOptions = target
                .parse()
                .map_err(|e| ("connect", format!("连接地址无效：{e}")))?;
            if let Some(pw) = &p.secret {
                opts = opts.password(pw);
            }
            if let Some(ca) = clients.tls.ca_file()
                && !crate::tls::names_own_ca(&target)
            {
                opts = opts.ssl_ca(ca);
            }
            let mut conn = sqlx::MySqlConnection::connect_with(&opts)
                .await
                .map_err(|e| ("connect", format!("连接失败：{e}")))?;
            let _: i64 = sqlx::query_scalar("SELECT 1")
                .fetch_one(&mut conn)
                .await
                .map_err(|e| ("query", format!("SELECT 1 失败：{e}")))?;
            let _ = conn.close().await;
        }
        Ok(())
    }
    .await;
    let l = ms(start);
    match result {
        Ok(()) => {
            if let Some(max) = cfg_i64(&p.config, "max_latency_ms")
                && l > max as f64
            {
                return Outcome::fail(
                    "threshold",
                    Some(l),
                    format!("连接并查询耗时 {l:.1} 毫秒，超过上限 {max} 毫秒"),
                );
            }
            Outcome::ok(l, "连接并执行 SELECT 1 成功")
        }
        Err((phase, msg)) => Outcome::fail(phase, Some(l), msg),
    }
}
