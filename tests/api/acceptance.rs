//! The acceptance package (issue 13, item 6): the latest accepted version of every instance
//! in folders by area and deliverable, the index workbook listing files, checksums and
//! every instance not accepted, SHA256SUMS re-hashed here, the compliance and quality
//! documents, who may download, the audit record, the 符合性审查 page and the CLI.

use std::collections::BTreeMap;
use std::io::Read;

use reqwest::StatusCode;
use serde_json::json;

use crate::contract::{audits_of, bj, deliverable, upload};
use crate::helpers::*;

fn sha(bytes: &[u8]) -> String {
    yunwei::store::audit::hex(&<sha2::Sha256 as sha2::Digest>::digest(bytes))
}

fn docx_bytes(tag: &str) -> Vec<u8> {
    let mut b = b"PK\x03\x04".to_vec();
    b.extend_from_slice(tag.as_bytes());
    b.extend_from_slice(&[0u8; 64]);
    b
}

/// Every entry of a ZIP: path → bytes.
fn unzip(bytes: &[u8]) -> BTreeMap<String, Vec<u8>> {
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).expect("a zip");
    let mut out = BTreeMap::new();
    for i in 0..z.len() {
        let mut f = z.by_index(i).unwrap();
        let name = f.name().unwrap().to_string();
        let mut data = Vec::new();
        f.read_to_end(&mut data).unwrap();
        assert!(out.insert(name, data).is_none(), "duplicate entry");
    }
    out
}

/// Checks SHA256SUMS against every other entry and answers it as path → hash.
fn check_sums(entries: &BTreeMap<String, Vec<u8>>) -> BTreeMap<String, String> {
    let sums = String::from_utf8(entries["SHA256SUMS"].clone()).unwrap();
    let listed: BTreeMap<String, String> = sums
        .lines()
        .map(|l| {
            let (h, p) = l.split_once("  ").expect("sha256sum format");
            (p.to_string(), h.to_string())
        })
        .collect();
    let others: Vec<&String> = entries.keys().filter(|k| *k != "SHA256SUMS").collect();
    assert_eq!(listed.keys().collect::<Vec<_>>(), others);
    for (p, h) in &listed {
        assert_eq!(&sha(&entries[p]), h, "{p}");
        assert!(!p.split('/').any(|s| s.is_empty() || s == ".." || s == "."));
    }
    listed
}

async fn submit(app: &TestApp, token: &str, id: i64, key: &str, name: &str, tag: &str) -> String {
    let bytes = docx_bytes(tag);
    let (s, v) = upload(
        app,
        token,
        &format!("/api/v1/deliverables/{id}/instances/{key}/versions"),
        name,
        bytes.clone(),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    sha(&bytes)
}

async fn review(app: &TestApp, token: &str, id: i64, key: &str, decision: &str) {
    app.post_expect(
        token,
        &format!("/api/v1/deliverables/{id}/instances/{key}/review"),
        &json!({"decision": decision, "comment": "审核意见"}),
        StatusCode::OK,
    )
    .await;
}

#[tokio::test]
async fn the_package_holds_the_accepted_files_lists_what_is_open_and_its_sums_match() {
    let app = demo_at(bj(2024, 11, 20, 9)).await;
    let (_, op) = app.user_with_role("yunying", "operator").await;
    let (_, eng) = app.user_with_role("gongcheng", "engineer").await;
    let (_, mgr) = app.user_with_role("jingli", "manager").await;
    let (_, sup) = app.user_with_role("jiafang", "supervisor").await;
    let (_, aud) = app.user_with_role("jianli", "auditor").await;
    let insp = deliverable(&app, "4.1.1", "月度巡检报告").await;
    let insp_id = insp["id"].as_i64().unwrap();
    let support = deliverable(&app, "4.2.8", "技术支持表").await;
    let support_id = support["id"].as_i64().unwrap();
    // Accepted after a return: the package holds the second version only.
    submit(&app, &eng, insp_id, "2024-09", "巡检报告.docx", "v1").await;
    review(&app, &sup, insp_id, "2024-09", "return").await;
    let insp_sep = submit(&app, &eng, insp_id, "2024-09", "巡检报告.docx", "v2").await;
    review(&app, &aud, insp_id, "2024-09", "accept").await;
    // The same file name in the next month.
    let insp_oct = submit(&app, &eng, insp_id, "2024-10", "巡检报告.docx", "oct").await;
    review(&app, &sup, insp_id, "2024-10", "accept").await;
    let sup_sep = submit(&app, &op, support_id, "2024-09", "../支持表.docx", "s").await;
    review(&app, &sup, support_id, "2024-09", "accept").await;
    // Returned and left so; submitted and not reviewed.
    submit(&app, &op, support_id, "2024-10", "支持表.docx", "r").await;
    review(&app, &aud, support_id, "2024-10", "return").await;
    submit(&app, &eng, insp_id, "2024-11", "巡检报告.docx", "nov").await;

    // The contractor's engineer and operator may not download; a bad period is refused.
    for t in [&eng, &op] {
        let r = app.get(t, "/api/v1/acceptance-package").await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let (s, _) = app.get_json(t, "/api/v1/acceptance-package/summary").await;
        assert_eq!(s, StatusCode::FORBIDDEN);
    }
    let (s, e) = app
        .get_json(&sup, "/api/v1/acceptance-package?period=year")
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(error_code(&e), "validation_failed");

    let audits = audits_of(&app, "acceptance_package").await;
    let r = app.get(&sup, "/api/v1/acceptance-package").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/zip");
    let cd = r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        cd.contains("filename*=UTF-8''%E9%AA%8C%E6%94%B6%E8%B5%84%E6%96%99%E5%8C%85"),
        "{cd}"
    );
    let bytes = r.bytes().await.unwrap();
    assert_eq!(audits_of(&app, "acceptance_package").await, audits + 1);
    // The temporary file is gone.
    let tmp = app.data_dir.join("tmp");
    assert_eq!(
        std::fs::read_dir(&tmp).map(|d| d.count()).unwrap_or(0),
        0,
        "left in {}",
        tmp.display()
    );
    let entries = unzip(&bytes);
    let sums = check_sums(&entries);
    let files: Vec<(&String, &String)> = sums.iter().filter(|(p, _)| p.contains('/')).collect();
    let line = support["line_name"].as_str().unwrap();
    let want = [
        (
            "基础设施运维/4.1.1 月度巡检报告/2024-09 巡检报告.docx".to_string(),
            insp_sep.clone(),
        ),
        (
            "基础设施运维/4.1.1 月度巡检报告/2024-10 巡检报告.docx".to_string(),
            insp_oct.clone(),
        ),
        (
            format!(
                "系统业务运营-{line}/4.2.8 {}/2024-09 支持表.docx",
                support["name"].as_str().unwrap()
            ),
            sup_sep.clone(),
        ),
    ];
    let mut got: Vec<(String, String)> = files
        .iter()
        .map(|(p, h)| ((*p).clone(), (*h).clone()))
        .collect();
    got.sort();
    let mut want_sorted = want.to_vec();
    want_sorted.sort();
    assert_eq!(got, want_sorted);
    for root in [
        "交付物清单.xlsx",
        "团队符合性检查.docx",
        "服务质量评价报告.docx",
        "SHA256SUMS",
    ] {
        assert!(entries.contains_key(root), "{root}");
    }

    // The index lists each file with its checksum, and every instance not accepted.
    if let Some(text) = read_back(&entries["交付物清单.xlsx"], "xlsx") {
        for (p, h) in &want {
            assert!(text.contains(p.as_str()), "{p} not in the index");
            assert!(text.contains(h.as_str()), "{h} not in the index");
        }
        let (_, open) = text.split_once("sheet=未验收事项").expect("the open sheet");
        let open_lines: Vec<&str> = open.lines().collect();
        assert!(
            open_lines
                .iter()
                .any(|l| l.contains("技术支持表") && l.contains("2024") && l.contains("已退回")),
            "{open}"
        );
        assert!(
            open_lines
                .iter()
                .any(|l| l.contains("月度巡检报告") && l.contains("已提交待审")),
            "{open}"
        );
        // Never silently skipped: the year's remaining months are listed too.
        assert!(open_lines.iter().any(|l| l.contains("待提交")), "{open}");
        assert!(text.contains("creator="));
    }
    if let Some(text) = read_back(&entries["团队符合性检查.docx"], "docx") {
        assert!(text.contains("服务团队成员不少于"), "{text}");
        assert!(text.contains("不符合") || text.contains("符合"));
    }
    // The compliance document carries the API's checks and states.
    let api = app
        .get_json_expect(&sup, "/api/v1/contract/compliance", StatusCode::OK)
        .await;
    let checks = api["checks"].as_array().unwrap();
    assert!(checks.len() >= 5);
    if let Some(text) = read_back(&entries["团队符合性检查.docx"], "docx") {
        for c in checks {
            let name = c["name"].as_str().unwrap();
            let state = c["state_label"].as_str().unwrap();
            assert!(
                text.lines()
                    .any(|l| l.contains(name) && l.contains(&format!("|{state}|"))),
                "{name} {state} not in {text}"
            );
        }
    }
    if let Some(text) = via_libreoffice(&entries["团队符合性检查.docx"], "docx") {
        assert!(text.contains("服务团队符合性检查表"), "{text}");
        assert!(text.contains(checks[0]["state_label"].as_str().unwrap()));
    }
    if let Some(text) = read_back(&entries["服务质量评价报告.docx"], "docx") {
        assert!(text.contains("质量目标与完成情况"), "{text}");
    }

    // The O&M period holds the infrastructure and systems only.
    let r = app.get(&mgr, "/api/v1/acceptance-package?period=om").await;
    assert_eq!(r.status(), StatusCode::OK);
    let om = unzip(&r.bytes().await.unwrap());
    check_sums(&om);
    assert!(om.keys().any(|k| k.starts_with("基础设施运维/")));
    assert!(!om.keys().any(|k| k.starts_with("系统业务运营")));

    // The summary the checklist page shows.
    let s = app
        .get_json_expect(&aud, "/api/v1/acceptance-package/summary", StatusCode::OK)
        .await;
    let infra = each(&s["areas"])
        .find(|a| a["area"] == "infrastructure")
        .unwrap()
        .clone();
    assert_eq!(infra["accepted"], 2);
    assert_eq!(
        infra["due"].as_i64().unwrap(),
        infra["accepted"].as_i64().unwrap() + infra["open"].as_i64().unwrap()
    );
    assert!(s["checks"].as_array().unwrap().len() >= 5);

    // The page.
    let cookie = app.page_cookie("admin", ADMIN_PASSWORD).await;
    let (st, html) = app.page(&cookie, "/acceptance").await;
    assert_eq!(st, StatusCode::OK);
    assert!(html.contains("符合性审查"));
    assert!(html.contains("/api/v1/acceptance-package?period=all"));
    assert!(html.contains("技术支持表"));
    assert!(
        html.contains("href=\"&#x2f;acceptance\" class=\"active\">符合性审查"),
        "the navigation links it: {html}"
    );
    let (st, _) = app
        .page(
            &app.page_cookie("yunying", "Changed#Pass2").await,
            "/acceptance",
        )
        .await;
    assert_ne!(st, StatusCode::OK);

    // The CLI writes the same deliverable files with the same sums.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("package.zip");
    let o = app.cli(&["acceptance-package", "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let bad = app.cli(&[
        "acceptance-package",
        "--out",
        out.to_str().unwrap(),
        "--period",
        "year",
    ]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("operations"));
    let cli = unzip(&std::fs::read(&out).unwrap());
    let cli_sums = check_sums(&cli);
    let cli_files: Vec<(&String, &String)> =
        cli_sums.iter().filter(|(p, _)| p.contains('/')).collect();
    assert_eq!(cli_files, files);

    // An accepted file altered on disk fails the build with a 409 naming it; nothing is
    // left behind.
    let dir = app
        .data_dir
        .join(format!("deliverables/{support_id}/2024-09"));
    let stored = std::fs::read_dir(&dir)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::fs::write(&stored, b"PK\x03\x04 altered").unwrap();
    let (s, e) = app.get_json(&sup, "/api/v1/acceptance-package").await;
    assert_eq!(s, StatusCode::CONFLICT, "{e}");
    assert!(error_message(&e).contains("2024-09 支持表.docx"), "{e}");
    assert_eq!(std::fs::read_dir(&tmp).map(|d| d.count()).unwrap_or(0), 0);
}
