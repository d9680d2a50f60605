//! Encryption of channel secrets at rest (AES-256-GCM). The key comes from
//! `YUNWEI_SECRET_KEY` (base64 of 32 bytes; required when several replicas share one
//! database) or from `secret.key` in the data directory, created on first start.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use password_hash::rand_core::{OsRng, RngCore};

pub struct SecretBox {
    cipher: Aes256Gcm,
}

impl SecretBox {
    pub fn from_key(key: &[u8]) -> anyhow::Result<Self> {
        anyhow::ensure!(key.len() == 32, "the secret key must be 32 bytes");
        let cipher =
            Aes256Gcm::new_from_slice(key).map_err(|e| anyhow::anyhow!("secret key: {e}"))?;
        Ok(SecretBox { cipher })
    }

    /// The configured key, or the data directory's key file (created when absent).
    pub fn load(configured: Option<&str>, data_dir: &std::path::Path) -> anyhow::Result<Self> {
        if let Some(k) = configured {
            let key = B64
                .decode(k.trim())
                .map_err(|_| anyhow::anyhow!("YUNWEI_SECRET_KEY: not base64"))?;
            return Self::from_key(&key);
        }
        let path = data_dir.join("secret.key");
        if let Ok(text) = std::fs::read_to_string(&path) {
            let key = B64
                .decode(text.trim())
                .map_err(|_| anyhow::anyhow!("{}: not base64", path.display()))?;
            return Self::from_key(&key);
        }
        std::fs::create_dir_all(data_dir)?;
        let mut key = [0u8; 32];
        OsRng.fill_bytes(&mut key);
        write_private(&path, B64.encode(key).as_bytes())?;
        Self::from_key(&key)
    }

    pub fn encrypt(&self, plain: &str) -> anyhow::Result<String> {
        let mut nonce = [0u8; 12];
        OsRng.fill_bytes(&mut nonce);
        let ct = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), plain.as_bytes())
            .map_err(|_| anyhow::anyhow!("encryption failed"))?;
        let mut out = nonce.to_vec();
        out.extend(ct);
        Ok(B64.encode(out))
    }

    pub fn decrypt(&self, text: &str) -> anyhow::Result<String> {
        let raw = B64
            .decode(text)
            .map_err(|_| anyhow::anyhow!("stored secret is not base64"))?;
        anyhow::ensure!(raw.len() > 12, "stored secret is too short");
        let (nonce, ct) = raw.split_at(12);
        let plain = self
            .cipher
            .decrypt(Nonce::from_slice(nonce), ct)
            .map_err(|_| {
                anyhow::anyhow!("stored secret cannot be decrypted: wrong YUNWEI_SECRET_KEY?")
            })?;
        Ok(String::from_utf8(plain)?)
    }
}

#[cfg(unix)]
fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)
}

#[cfg(not(unix))]
fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_round_trip_and_a_wrong_key_fails() {
        let a = SecretBox::from_key(&[7u8; 32]).unwrap();
        let b = SecretBox::from_key(&[8u8; 32]).unwrap();
        let enc = a.encrypt("smtp-password").unwrap();
        assert!(!enc.contains("smtp-password"));
        assert_eq!(a.decrypt(&enc).unwrap(), "smtp-password");
        assert!(b.decrypt(&enc).is_err());
    }
}
