//! Full-text search terms: text cut into overlapping CJK character bigrams plus latin and
//! digit words, the same way for what is indexed and for what is asked, so that a
//! two-character Chinese word ("登录", "备份") matches. Pure: both backends store the terms
//! (SQLite FTS5 over the space-joined terms, PostgreSQL a `tsvector` built from them) and
//! turn a [`Query`] into their own match syntax.

/// At most this many characters of a document are indexed (the rest is ignored).
pub const DOC_MAX_CHARS: usize = 20_000;
/// At most this many terms per document (PostgreSQL positions stop at 16,383).
pub const DOC_MAX_TERMS: usize = 8_000;
/// A query longer than this (in characters) is refused.
pub const QUERY_MAX_CHARS: usize = 100;
/// A latin/digit word is cut to this many characters.
pub const WORD_MAX_CHARS: usize = 40;

/// Whether a character belongs to a script written without spaces (Han, kana, Hangul,
/// CJK punctuation-free blocks), which is indexed as character bigrams.
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF      // Hiragana, Katakana
        | 0x3400..=0x4DBF    // CJK Extension A
        | 0x4E00..=0x9FFF    // CJK Unified Ideographs
        | 0xAC00..=0xD7AF    // Hangul syllables
        | 0xF900..=0xFAFF    // CJK compatibility ideographs
        | 0x20000..=0x2FA1F) // Extensions B–F, compatibility supplement
}

/// One group of a segmented text: a run of CJK characters (as its bigrams, or the single
/// character of a one-character run) or a latin/digit word (lowercase).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Group {
    Cjk(Vec<String>),
    Word(String),
}

/// Cuts text into groups, reading at most `max_chars` characters and producing at most
/// `max_terms` terms.
fn groups(text: &str, max_chars: usize, max_terms: usize) -> Vec<Group> {
    let mut out = Vec::new();
    let mut terms = 0usize;
    let mut run: Vec<char> = Vec::new();
    let mut word = String::new();
    let mut word_len = 0usize;
    let flush_run = |run: &mut Vec<char>, out: &mut Vec<Group>, terms: &mut usize| {
        if run.is_empty() {
            return;
        }
        let mut grams = Vec::new();
        if run.len() == 1 {
            grams.push(run[0].to_string());
        } else {
            for w in run.windows(2) {
                grams.push(w.iter().collect::<String>());
            }
        }
        let room = max_terms.saturating_sub(*terms);
        grams.truncate(room);
        *terms += grams.len();
        if !grams.is_empty() {
            out.push(Group::Cjk(grams));
        }
        run.clear();
    };
    let flush_word =
        |word: &mut String, len: &mut usize, out: &mut Vec<Group>, terms: &mut usize| {
            if !word.is_empty() && *terms < max_terms {
                out.push(Group::Word(std::mem::take(word)));
                *terms += 1;
            }
            word.clear();
            *len = 0;
        };
    for c in text.chars().take(max_chars) {
        if terms >= max_terms {
            break;
        }
        if is_cjk(c) {
            flush_word(&mut word, &mut word_len, &mut out, &mut terms);
            run.push(c);
        } else if c.is_alphanumeric() {
            flush_run(&mut run, &mut out, &mut terms);
            if word_len < WORD_MAX_CHARS {
                // A lowercase form may carry a combining mark ('İ' → "i\u{307}"): only
                // its letters and digits are kept, as a query's are.
                let before = word.len();
                word.extend(c.to_lowercase().filter(|l| l.is_alphanumeric()));
                if word.len() == before {
                    word.push(c);
                }
                word_len += 1;
            }
        } else {
            flush_run(&mut run, &mut out, &mut terms);
            flush_word(&mut word, &mut word_len, &mut out, &mut terms);
        }
    }
    flush_run(&mut run, &mut out, &mut terms);
    flush_word(&mut word, &mut word_len, &mut out, &mut terms);
    out
}

/// The terms of a document, in order, for the index: bounded by [`DOC_MAX_CHARS`] and
/// [`DOC_MAX_TERMS`]; every term is non-empty and holds only letters or digits.
pub fn doc_terms(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for g in groups(text, DOC_MAX_CHARS, DOC_MAX_TERMS) {
        match g {
            Group::Cjk(v) => out.extend(v),
            Group::Word(w) => out.push(w),
        }
    }
    out
}

/// A search query, segmented like the documents. Every group must match (AND); a CJK
/// group's bigrams must follow each other (a phrase). The last group is matched as a
/// prefix while the user is still typing it (`open_end`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Query {
    pub groups: Vec<Group>,
    pub open_end: bool,
    /// Any term may match instead of all (similar tickets: ranked by how much matches).
    pub any: bool,
}

/// Why a query cannot be run, as a Chinese message that says what to fix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QueryError {
    Empty,
    TooLong,
    NoTerms,
}

impl QueryError {
    pub fn message(&self) -> String {
        match self {
            QueryError::Empty => "请输入要搜索的内容".into(),
            QueryError::TooLong => format!("搜索内容不能超过 {QUERY_MAX_CHARS} 个字"),
            QueryError::NoTerms => "搜索内容应包含文字或数字".into(),
        }
    }
}

impl Query {
    /// Parses what the user typed: trimmed, at most [`QUERY_MAX_CHARS`] characters, and
    /// at least one letter, digit or CJK character.
    pub fn parse(typed: &str) -> Result<Query, QueryError> {
        let q = typed.trim();
        if q.is_empty() {
            return Err(QueryError::Empty);
        }
        if q.chars().count() > QUERY_MAX_CHARS {
            return Err(QueryError::TooLong);
        }
        let groups = groups(q, QUERY_MAX_CHARS, QUERY_MAX_CHARS);
        if groups.is_empty() {
            return Err(QueryError::NoTerms);
        }
        // A query ending in a separator is a finished word; otherwise the last word may
        // still be growing.
        let open_end = typed
            .chars()
            .last()
            .is_some_and(|c| c.is_alphanumeric() || is_cjk(c));
        Ok(Query {
            groups,
            open_end,
            any: false,
        })
    }

    /// The SQLite FTS5 match expression: groups joined by AND, a CJK run as a phrase, the
    /// last latin word or single CJK character as a prefix when the query is open-ended.
    /// Every term is double-quoted, so no FTS5 operator can come from the user.
    pub fn fts5(&self) -> String {
        if self.any {
            let t: Vec<String> = self.terms().iter().map(|t| format!("\"{t}\"")).collect();
            return t.join(" OR ");
        }
        let group = |g: &Group, last: bool| match g {
            Group::Word(w) => format!("\"{w}\"{}", if last { "*" } else { "" }),
            Group::Cjk(v) if v.len() == 1 && v[0].chars().count() == 1 => {
                // One character: any bigram that starts with it (or the lone
                // character itself).
                format!("\"{}\"*", v[0])
            }
            Group::Cjk(v) => format!("\"{}\"", v.join(" ")),
        };
        self.joined_groups(group, " AND ")
    }

    /// Each group as `group` writes it (told whether it is the open-ended last one), joined
    /// by `and`.
    fn joined_groups(&self, group: impl Fn(&Group, bool) -> String, and: &str) -> String {
        let n = self.groups.len();
        let parts: Vec<String> = self
            .groups
            .iter()
            .enumerate()
            .map(|(i, g)| group(g, i + 1 == n && self.open_end))
            .collect();
        parts.join(and)
    }

    /// The PostgreSQL `tsquery` literal (parsed by `CAST(.. AS tsquery)`, not by a text
    /// search parser): groups joined by `&`, a CJK run's bigrams by `<->`, prefixes as
    /// `:*`. Terms are quoted as tsquery lexemes.
    pub fn tsquery(&self) -> String {
        if self.any {
            let t: Vec<String> = self.terms().iter().map(|t| lexeme(t)).collect();
            return t.join(" | ");
        }
        let group = |g: &Group, last: bool| match g {
            Group::Word(w) => format!("{}{}", lexeme(w), if last { ":*" } else { "" }),
            Group::Cjk(v) if v.len() == 1 && v[0].chars().count() == 1 => {
                format!("{}:*", lexeme(&v[0]))
            }
            Group::Cjk(v) => {
                let p: Vec<String> = v.iter().map(|t| lexeme(t)).collect();
                format!("({})", p.join(" <-> "))
            }
        };
        self.joined_groups(group, " & ")
    }

    /// Every distinct term of the query, in order (at most 40).
    pub fn terms(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for g in &self.groups {
            let ts: Vec<&String> = match g {
                Group::Word(w) => vec![w],
                Group::Cjk(v) => v.iter().collect(),
            };
            for t in ts {
                if !out.contains(t) && out.len() < 40 {
                    out.push(t.clone());
                }
            }
        }
        out
    }

    /// When the whole query looks like (the start of) a ticket number such as
    /// `INC-20251015-0001`: that prefix, uppercase, for matching the number directly.
    pub fn number_prefix(q: &str) -> Option<String> {
        let q = q.trim();
        let ok = q.len() >= 3
            && q.len() <= 40
            && q.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && q.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && q.contains('-');
        ok.then(|| q.to_ascii_uppercase())
    }
}

/// A term as a quoted `tsvector`/`tsquery` lexeme. Terms hold only letters and digits,
/// but quotes and backslashes are escaped anyway.
pub fn lexeme(t: &str) -> String {
    let mut s = String::with_capacity(t.len() + 2);
    s.push('\'');
    for c in t.chars() {
        if c == '\'' || c == '\\' {
            s.push(c);
        }
        s.push(c);
    }
    s.push('\'');
    s
}

/// The PostgreSQL `tsvector` literal of a document's terms, with positions (1-based,
/// capped at PostgreSQL's 16,383) so that phrases match. Extra lexemes (`tags`) carry no
/// position.
pub fn tsvector(terms: &[String], tags: &[String]) -> String {
    let mut parts: Vec<String> = terms
        .iter()
        .enumerate()
        .map(|(i, t)| format!("{}:{}", lexeme(t), (i + 1).min(16_383)))
        .collect();
    parts.extend(tags.iter().map(|t| lexeme(t)));
    parts.join(" ")
}

/// A short excerpt of `text` around the first place where a query term occurs (or its
/// start), at most `max` characters, with an ellipsis where cut.
pub fn snippet(text: &str, q: &Query, max: usize) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let chars: Vec<char> = flat.chars().collect();
    if chars.len() <= max {
        return flat;
    }
    let lower: Vec<char> = flat.to_lowercase().chars().collect();
    let first_term = q.groups.iter().find_map(|g| match g {
        Group::Word(w) => Some(w.clone()),
        Group::Cjk(v) => v.first().cloned(),
    });
    let at = first_term
        .and_then(|t| {
            let t: Vec<char> = t.chars().collect();
            if lower.len() != chars.len() || t.is_empty() {
                return None;
            }
            lower.windows(t.len()).position(|w| w == t.as_slice())
        })
        .unwrap_or(0);
    let start = at.saturating_sub(max / 4);
    let end = (start + max).min(chars.len());
    let start = end.saturating_sub(max);
    let mut s = String::new();
    if start > 0 {
        s.push('…');
    }
    s.extend(&chars[start..end]);
    if end < chars.len() {
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn terms(s: &str) -> Vec<String> {
        doc_terms(s)
    }

    #[test]
    fn chinese_text_is_cut_into_overlapping_bigrams() {
        assert_eq!(
            terms("系统登录失败"),
            ["系统", "统登", "登录", "录失", "失败"]
        );
    }

    #[test]
    fn latin_and_digit_words_are_lowercase_words_between_separators() {
        assert_eq!(
            terms("OA系统 VPN-Gateway 502错误"),
            ["oa", "系统", "vpn", "gateway", "502", "错误"]
        );
    }

    #[test]
    fn a_lone_chinese_character_is_kept_as_itself() {
        assert_eq!(terms("A 网 B"), ["a", "网", "b"]);
    }

    #[test]
    fn a_two_character_word_in_the_query_matches_the_bigram_of_the_document() {
        let q = Query::parse("登录").unwrap();
        assert_eq!(q.fts5(), "\"登录\"");
        assert_eq!(q.tsquery(), "('登录')");
        assert!(terms("用户无法登录系统").contains(&"登录".to_string()));
    }

    #[test]
    fn a_longer_chinese_query_is_a_phrase_of_bigrams_and_words_are_anded() {
        let q = Query::parse("备份失败 oracle").unwrap();
        assert_eq!(q.fts5(), "\"备份 份失 失败\" AND \"oracle\"*");
        assert_eq!(q.tsquery(), "('备份' <-> '份失' <-> '失败') & 'oracle':*");
        let closed = Query::parse("oracle ").unwrap();
        assert_eq!(closed.fts5(), "\"oracle\"");
    }

    #[test]
    fn an_any_query_ors_every_distinct_term() {
        let mut q = Query::parse("登录失败 登录").unwrap();
        q.any = true;
        assert_eq!(q.fts5(), "\"登录\" OR \"录失\" OR \"失败\"");
        assert_eq!(q.tsquery(), "'登录' | '录失' | '失败'");
    }

    #[test]
    fn a_single_character_query_is_a_prefix() {
        let q = Query::parse("网").unwrap();
        assert_eq!(q.fts5(), "\"网\"*");
        assert_eq!(q.tsquery(), "'网':*");
    }

    #[test]
    fn empty_overlong_and_symbol_only_queries_are_refused_with_a_chinese_message() {
        assert_eq!(Query::parse("  "), Err(QueryError::Empty));
        assert_eq!(
            Query::parse(&"长".repeat(QUERY_MAX_CHARS + 1)),
            Err(QueryError::TooLong)
        );
        assert_eq!(Query::parse("\"*()-"), Err(QueryError::NoTerms));
        assert!(QueryError::TooLong.message().contains("100"));
    }

    #[test]
    fn a_ticket_number_prefix_is_recognised() {
        assert_eq!(
            Query::number_prefix(" inc-20251015-0001 ").as_deref(),
            Some("INC-20251015-0001")
        );
        assert_eq!(Query::number_prefix("登录"), None);
        assert_eq!(Query::number_prefix("oracle"), None);
    }

    #[test]
    fn the_tsvector_literal_has_positions_and_escapes_quotes() {
        assert_eq!(
            tsvector(&["登录".into(), "a'b".into()], &["t:x".into()]),
            "'登录':1 'a''b':2 't:x'"
        );
    }

    #[test]
    fn a_snippet_is_cut_around_the_first_match() {
        let text = format!("{}数据库备份失败{}", "前".repeat(100), "后".repeat(100));
        let q = Query::parse("备份").unwrap();
        let s = snippet(&text, &q, 40);
        assert!(s.contains("备份"), "{s}");
        assert!(s.starts_with('…') && s.ends_with('…'));
        assert_eq!(snippet("短文本", &q, 40), "短文本");
    }

    #[test]
    fn a_lowercase_form_with_a_combining_mark_keeps_only_its_letters() {
        assert_eq!(doc_terms("İstanbul"), vec!["istanbul".to_string()]);
    }

    proptest! {
        #[test]
        fn any_text_gives_bounded_terms_of_letters_and_digits(s in "\\PC{0,3000}") {
            let t = doc_terms(&s);
            prop_assert!(t.len() <= DOC_MAX_TERMS);
            for x in &t {
                prop_assert!(!x.is_empty());
                prop_assert!(x.chars().all(|c| c.is_alphanumeric() || is_cjk(c)));
                prop_assert!(!x.contains('"') && !x.contains('\''));
            }
        }

        #[test]
        fn any_query_parses_or_is_refused_and_its_match_strings_quote_every_term(s in "\\PC{0,150}") {
            if let Ok(q) = Query::parse(&s) {
                let f = q.fts5();
                prop_assert!(f.matches('"').count() % 2 == 0);
                let t = q.tsquery();
                prop_assert!(t.matches('\'').count() % 2 == 0);
                let _ = snippet(&s, &q, 20);
            }
        }

        #[test]
        fn every_query_term_is_a_document_term_of_the_same_text(s in "[a-z0-9登录备份失败系统 ]{1,40}") {
            if let Ok(q) = Query::parse(&s) {
                let d = doc_terms(&s);
                for g in &q.groups {
                    match g {
                        Group::Word(w) => prop_assert!(d.contains(w)),
                        Group::Cjk(v) => for t in v { prop_assert!(d.contains(t)); },
                    }
                }
            }
        }

        #[test]
        fn huge_input_is_read_only_up_to_the_bound(n in 20_001usize..40_000) {
            let s = "ab ".repeat(n);
            prop_assert!(doc_terms(&s).len() <= DOC_MAX_TERMS);
        }
    }
}
