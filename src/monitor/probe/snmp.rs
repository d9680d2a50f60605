//! SNMP probe: interface and UPS state by OID, over the client in `monitor::snmp`.

use std::time::Instant;

use serde_json::{Map, Value};

use super::{Outcome, ProbeSpec, ms, resolve};

const IF_OPER_STATUS: &str = "1.3.6.1.2.1.2.2.1.8";
const UPS_BATTERY_STATUS: &str = "1.3.6.1.2.1.33.1.2.1.0";
const UPS_CHARGE: &str = "1.3.6.1.2.1.33.1.2.4.0";
const UPS_OUTPUT_SOURCE: &str = "1.3.6.1.2.1.33.1.4.1.0";
const UPS_LOAD: &str = "1.3.6.1.2.1.33.1.4.4.1.5.1";

pub(super) async fn probe(p: &ProbeSpec) -> Outcome {
    use crate::monitor::snmp::{Oid, SnmpValue};
    let (host, port) = match crate::monitor::spec::split_host_port(&p.target, Some(161)) {
        Ok(x) => x,
        Err(e) => return Outcome::fail("connect", None, e),
    };
    let addr = match resolve(&host, port).await {
        Ok(a) => a,
        Err(o) => return o,
    };
    let credentials =
        match crate::monitor::snmp::Credentials::from_config(&p.config, p.secret.as_deref()) {
            Ok(c) => c,
            Err(e) => return Outcome::fail("snmp", None, e),
        };
    let c = &p.config;
    // (oid, check) pairs asked in one GET.
    let mut oids: Vec<Oid> = Vec::new();
    let items: Vec<Map<String, Value>> = match c.get("oids") {
        Some(Value::Array(a)) => a.iter().filter_map(|x| x.as_object().cloned()).collect(),
        _ => vec![],
    };
    for it in &items {
        if let Some(o) = it
            .get("oid")
            .and_then(Value::as_str)
            .and_then(|s| Oid::parse(s).ok())
        {
            oids.push(o);
        }
    }
    let ifs: Vec<i64> = match c.get("if_indexes") {
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_i64).collect(),
        _ => vec![],
    };
    for i in &ifs {
        if let Ok(o) = Oid::parse(&format!("{IF_OPER_STATUS}.{i}")) {
            oids.push(o);
        }
    }
    let ups = c.get("ups").and_then(Value::as_object).cloned();
    if ups.is_some() {
        for s in [UPS_BATTERY_STATUS, UPS_CHARGE, UPS_OUTPUT_SOURCE, UPS_LOAD] {
            if let Ok(o) = Oid::parse(s) {
                oids.push(o);
            }
        }
    }
    let start = Instant::now();
    let values = match crate::monitor::snmp::get(addr, &credentials, &oids, p.timeout).await {
        Ok(v) => v,
        Err(crate::monitor::snmp::SnmpError::Timeout) => {
            return Outcome::fail(
                "timeout",
                Some(ms(start)),
                crate::monitor::snmp::SnmpError::Timeout.to_string(),
            );
        }
        Err(e) => return Outcome::fail("snmp", Some(ms(start)), e.to_string()),
    };
    let latency = ms(start);
    let lookup = |oid: &str| -> Option<&SnmpValue> {
        let o = Oid::parse(oid).ok()?;
        values.iter().find(|(k, _)| *k == o).map(|(_, v)| v)
    };
    let missing = |v: &SnmpValue| {
        matches!(
            v,
            SnmpValue::NoSuchObject
                | SnmpValue::NoSuchInstance
                | SnmpValue::EndOfMibView
                | SnmpValue::Null
        )
    };
    let mut shown = Vec::new();
    for it in &items {
        let oid = it.get("oid").and_then(Value::as_str).unwrap_or_default();
        let label = it.get("label").and_then(Value::as_str).unwrap_or(oid);
        let Some(v) = lookup(oid) else {
            return Outcome::fail(
                "snmp",
                Some(latency),
                format!("{label}：设备没有返回该 OID"),
            );
        };
        if missing(v) {
            return Outcome::fail(
                "snmp",
                Some(latency),
                format!("{label}（{oid}）：设备上不存在该 OID"),
            );
        }
        let text = v.to_text();
        if let Some(eq) = it.get("equals") {
            let want = match eq {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            if text != want {
                return Outcome::fail(
                    "threshold",
                    Some(latency),
                    format!("{label} = {text}，期望 {want}"),
                );
            }
        }
        let num = v.as_f64();
        if let (Some(min), Some(n)) = (it.get("min").and_then(Value::as_f64), num)
            && n < min
        {
            return Outcome::fail(
                "threshold",
                Some(latency),
                format!("{label} = {n}，低于下限 {min}"),
            );
        }
        if let (Some(max), Some(n)) = (it.get("max").and_then(Value::as_f64), num)
            && n > max
        {
            return Outcome::fail(
                "threshold",
                Some(latency),
                format!("{label} = {n}，超过上限 {max}"),
            );
        }
        shown.push(format!("{label}={text}"));
    }
    for i in &ifs {
        match lookup(&format!("{IF_OPER_STATUS}.{i}")).and_then(SnmpValue::as_f64) {
            Some(1.0) => shown.push(format!("接口{i}=up")),
            Some(s) => {
                return Outcome::fail(
                    "threshold",
                    Some(latency),
                    format!(
                        "接口 {i} 状态为 {}（ifOperStatus={s}）",
                        if s == 2.0 { "down" } else { "异常" }
                    ),
                );
            }
            None => return Outcome::fail("snmp", Some(latency), format!("设备上没有接口 {i}")),
        }
    }
    if let Some(u) = ups {
        let battery = lookup(UPS_BATTERY_STATUS).and_then(SnmpValue::as_f64);
        let charge = lookup(UPS_CHARGE).and_then(SnmpValue::as_f64);
        let source = lookup(UPS_OUTPUT_SOURCE).and_then(SnmpValue::as_f64);
        let load = lookup(UPS_LOAD).and_then(SnmpValue::as_f64);
        if battery.is_none() && charge.is_none() {
            return Outcome::fail("snmp", Some(latency), "设备不支持 UPS-MIB（RFC 1628）");
        }
        if let Some(b) = battery
            && b != 2.0
        {
            let what = match b as i64 {
                3 => "电池电量低",
                4 => "电池耗尽",
                _ => "电池状态未知",
            };
            return Outcome::fail(
                "threshold",
                Some(latency),
                format!("UPS {what}（upsBatteryStatus={b}）"),
            );
        }
        if let Some(s) = source
            && s == 5.0
        {
            return Outcome::fail("threshold", Some(latency), "UPS 正由电池供电（市电中断）");
        }
        let min_charge = u
            .get("battery_min_percent")
            .and_then(Value::as_f64)
            .unwrap_or(50.0);
        if let Some(c) = charge
            && c < min_charge
        {
            return Outcome::fail(
                "threshold",
                Some(latency),
                format!("UPS 电池剩余 {c}%，低于 {min_charge}%"),
            );
        }
        let max_load = u
            .get("load_max_percent")
            .and_then(Value::as_f64)
            .unwrap_or(80.0);
        if let Some(l) = load
            && l > max_load
        {
            return Outcome::fail(
                "threshold",
                Some(latency),
                format!("UPS 负载 {l}%，超过 {max_load}%"),
            );
        }
        shown.push(format!(
            "UPS 电池 {}%，负载 {}%",
            charge.map(|c| c.to_string()).unwrap_or_else(|| "—".into()),
            load.map(|c| c.to_string()).unwrap_or_else(|| "—".into())
        ));
    }
    Outcome::ok(latency, shown.join("；"))
}
