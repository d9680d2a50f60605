//! Password policy (等保 level 2): length, character classes, not containing the username.

/// What a password must meet. `config::SecurityConfig` converts into it (its
/// `password_policy()`); the defaults are the contract's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PasswordPolicy {
    /// Fewest characters.
    pub min_length: usize,
    /// How many of the four classes (lower, upper, digit, symbol) a password needs.
    pub min_classes: usize,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self {
            min_length: 8,
            min_classes: 3,
        }
    }
}

/// Checks a new password against the policy; the error says what to fix, in Chinese.
pub fn check_policy(password: &str, username: &str, policy: &PasswordPolicy) -> Result<(), String> {
    super::text::check_password_chars(password)?;
    let len = password.chars().count();
    if len < policy.min_length {
        return Err(format!("密码至少需要 {} 个字符", policy.min_length));
    }
    if len > 128 {
        return Err("密码不能超过 128 个字符".into());
    }
    let classes = [
        password.chars().any(|c| c.is_ascii_lowercase()),
        password.chars().any(|c| c.is_ascii_uppercase()),
        password.chars().any(|c| c.is_ascii_digit()),
        password.chars().any(|c| !c.is_ascii_alphanumeric()),
    ]
    .iter()
    .filter(|b| **b)
    .count();
    if classes < policy.min_classes {
        return Err(format!(
            "密码需包含小写字母、大写字母、数字、特殊符号中的至少 {} 类",
            policy.min_classes
        ));
    }
    let user = username.trim().to_lowercase();
    if !user.is_empty() && password.to_lowercase().contains(&user) {
        return Err("密码不能包含用户名".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> PasswordPolicy {
        PasswordPolicy::default()
    }

    #[test]
    fn short_passwords_are_refused() {
        assert!(check_policy("Ab1!", "u", &p()).unwrap_err().contains("8"));
    }

    #[test]
    fn two_classes_are_not_enough() {
        assert!(check_policy("abcdefgh12", "u", &p()).is_err());
        assert!(check_policy("abcdefgH12", "u", &p()).is_ok());
    }

    #[test]
    fn the_username_may_not_appear_in_the_password() {
        assert!(
            check_policy("xZhangSan#1", "zhangsan", &p())
                .unwrap_err()
                .contains("用户名")
        );
    }
}
