//! Accounts, passwords, sessions and login rate limiting.
//!
//! - Users are documents of the `users` collection: name, role and an argon2 PHC hash string.
//!   Passwords are never stored, logged or returned.
//! - A session is a random 256-bit token sent as an `HttpOnly; SameSite=Strict` cookie. Sessions
//!   live in memory (a restart logs everyone out) and expire after an idle time and an absolute
//!   lifetime.
//! - Failed logins are counted per (user name, client address); past [`LoginLimits::max_failures`]
//!   within the window the login answers 429 until the oldest failure leaves the window, without
//!   checking the password.

use super::docs::{DocError, DocStore};
use super::util::{now_unix, random_bytes, random_token};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const USERS_COLLECTION: &str = "users";
pub const SESSION_COOKIE: &str = "fraudnet_session";
pub const MIN_PASSWORD_LEN: usize = 8;

/// What a user may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Searches, expands, traces, builds and submits case maps.
    Investigator,
    /// As an investigator, plus community runs.
    Analyst,
    /// Reviews submitted case maps: comments, approves, returns; sees drafts and the audit log.
    Supervisor,
    /// Manages accounts and reads the audit log.
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [
        Role::Investigator,
        Role::Analyst,
        Role::Supervisor,
        Role::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Investigator => "investigator",
            Role::Analyst => "analyst",
            Role::Supervisor => "supervisor",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        let s = s.trim().to_ascii_lowercase();
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stored account.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct UserRecord {
    pub name: String,
    pub role: Role,
    /// argon2id PHC string.
    pub password_hash: String,
    pub created: i64,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    #[error("user name must be 1 to 64 letters, digits, '_', '-' or '.'")]
    BadName,
    #[error("password must have at least {MIN_PASSWORD_LEN} characters")]
    WeakPassword,
    #[error("user {0} already exists")]
    Exists(String),
    #[error("stored account {0} is unreadable")]
    Corrupt(String),
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error(transparent)]
    Doc(#[from] DocError),
}

pub fn valid_user_name(name: &str) -> bool {
    let n = name.chars().count();
    (1..=64).contains(&n)
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

pub fn hash_password(password: &str) -> Result<String, AuthError> {
    let salt =
        SaltString::encode_b64(&random_bytes(16)).map_err(|e| AuthError::Hash(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AuthError::Hash(e.to_string()))
}

pub fn check_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A password of 16 characters from an alphabet without look-alikes.
pub fn generate_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789";
    random_bytes(16)
        .into_iter()
        .map(|b| char::from(ALPHABET[usize::from(b) % ALPHABET.len()]))
        .collect()
}

/// Creates an account. CPU-heavy (argon2): call from a blocking thread.
pub fn add_user(
    docs: &dyn DocStore,
    name: &str,
    role: Role,
    password: &str,
) -> Result<UserRecord, AuthError> {
    if !valid_user_name(name) {
        return Err(AuthError::BadName);
    }
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(AuthError::WeakPassword);
    }
    if docs.get_doc(USERS_COLLECTION, name)?.is_some() {
        return Err(AuthError::Exists(name.to_string()));
    }
    let rec = UserRecord {
        name: name.to_string(),
        role,
        password_hash: hash_password(password)?,
        created: now_unix(),
    };
    let bytes = serde_json::to_vec(&rec).map_err(|_| AuthError::Corrupt(name.to_string()))?;
    docs.put_doc(USERS_COLLECTION, name, &bytes)?;
    Ok(rec)
}

pub fn get_user(docs: &dyn DocStore, name: &str) -> Result<Option<UserRecord>, AuthError> {
    match docs.get_doc(USERS_COLLECTION, name)? {
        None => Ok(None),
        Some(b) => serde_json::from_slice(&b)
            .map(Some)
            .map_err(|_| AuthError::Corrupt(name.to_string())),
    }
}

pub fn list_users(docs: &dyn DocStore) -> Result<Vec<UserRecord>, AuthError> {
    docs.scan_docs(USERS_COLLECTION)?
        .into_iter()
        .map(|(k, v)| serde_json::from_slice(&v).map_err(|_| AuthError::Corrupt(k)))
        .collect()
}

/// An authenticated caller, as handlers see it.
#[derive(Clone, Debug)]
pub struct Session {
    pub user: String,
    pub role: Role,
    created: Instant,
    last_seen: Instant,
    /// Unix time the session was opened.
    pub since: i64,
}

/// Session lifetimes.
#[derive(Clone, Copy, Debug)]
pub struct SessionLimits {
    pub idle: Duration,
    pub absolute: Duration,
}

/// Login rate limits.
#[derive(Clone, Copy, Debug)]
pub struct LoginLimits {
    pub max_failures: usize,
    pub window: Duration,
}

/// Sessions and login attempts, in memory.
pub struct Sessions {
    limits: SessionLimits,
    login: LoginLimits,
    sessions: Mutex<HashMap<String, Session>>,
    failures: Mutex<HashMap<(String, String), VecDeque<Instant>>>,
}

impl Sessions {
    pub fn new(limits: SessionLimits, login: LoginLimits) -> Sessions {
        Sessions {
            limits,
            login,
            sessions: Mutex::new(HashMap::new()),
            failures: Mutex::new(HashMap::new()),
        }
    }

    pub fn limits(&self) -> SessionLimits {
        self.limits
    }

    /// Opens a session and returns its token.
    pub fn open(&self, user: &str, role: Role) -> String {
        let token = random_token(32);
        let now = Instant::now();
        let s = Session {
            user: user.to_string(),
            role,
            created: now,
            last_seen: now,
            since: now_unix(),
        };
        if let Ok(mut map) = self.sessions.lock() {
            map.retain(|_, s| !self.expired(s, now));
            map.insert(token.clone(), s);
        }
        token
    }

    fn expired(&self, s: &Session, now: Instant) -> bool {
        now.duration_since(s.last_seen) > self.limits.idle
            || now.duration_since(s.created) > self.limits.absolute
    }

    /// The live session of a token, touching it; `None` when unknown or expired.
    pub fn lookup(&self, token: &str) -> Option<Session> {
        let now = Instant::now();
        let mut map = self.sessions.lock().ok()?;
        let expired = self.expired(map.get(token)?, now);
        if expired {
            map.remove(token);
            return None;
        }
        let s = map.get_mut(token)?;
        s.last_seen = now;
        Some(s.clone())
    }

    pub fn close(&self, token: &str) {
        if let Ok(mut map) = self.sessions.lock() {
            map.remove(token);
        }
    }

    /// Ends every session of a user (e.g. after a password change).
    pub fn close_user(&self, user: &str) {
        if let Ok(mut map) = self.sessions.lock() {
            map.retain(|_, s| s.user != user);
        }
    }

    /// `Err(seconds to wait)` when this (user, address) has too many recent failures.
    pub fn check_rate(&self, user: &str, addr: &str) -> Result<(), u64> {
        let now = Instant::now();
        let Ok(mut map) = self.failures.lock() else {
            return Err(self.login.window.as_secs());
        };
        let key = (user.to_string(), addr.to_string());
        let Some(q) = map.get_mut(&key) else {
            return Ok(());
        };
        while q
            .front()
            .is_some_and(|t| now.duration_since(*t) > self.login.window)
        {
            q.pop_front();
        }
        if q.len() >= self.login.max_failures {
            let oldest = q.front().copied().unwrap_or(now);
            let wait = self.login.window.saturating_sub(now.duration_since(oldest));
            return Err(wait.as_secs().max(1));
        }
        if q.is_empty() {
            map.remove(&key);
        }
        Ok(())
    }

    pub fn record_failure(&self, user: &str, addr: &str) {
        let now = Instant::now();
        if let Ok(mut map) = self.failures.lock() {
            if map.len() > 100_000 {
                let window = self.login.window;
                map.retain(|_, q| q.back().is_some_and(|t| now.duration_since(*t) <= window));
            }
            let q = map.entry((user.to_string(), addr.to_string())).or_default();
            q.push_back(now);
            while q.len() > self.login.max_failures {
                q.pop_front();
            }
        }
    }

    pub fn clear_failures(&self, user: &str, addr: &str) {
        if let Ok(mut map) = self.failures.lock() {
            map.remove(&(user.to_string(), addr.to_string()));
        }
    }
}

/// Verifies a login against the stored accounts. Runs argon2 even for unknown users so that
/// timing does not reveal which names exist. CPU-heavy: call from a blocking thread.
pub fn authenticate(
    docs: &dyn DocStore,
    dummy_hash: &str,
    name: &str,
    password: &str,
) -> Result<Option<UserRecord>, AuthError> {
    match get_user(docs, name)? {
        Some(u) if check_password(password, &u.password_hash) => Ok(Some(u)),
        Some(_) => Ok(None),
        None => {
            let _ = check_password(password, dummy_hash);
            Ok(None)
        }
    }
}

/// Shared handle used by the state.
pub type SharedSessions = Arc<Sessions>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::docs::MemDocs;

    fn sessions(idle_ms: u64) -> Sessions {
        Sessions::new(
            SessionLimits {
                idle: Duration::from_millis(idle_ms),
                absolute: Duration::from_secs(3600),
            },
            LoginLimits {
                max_failures: 3,
                window: Duration::from_secs(60),
            },
        )
    }

    #[test]
    fn passwords_hash_and_verify() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(check_password("correct horse", &h));
        assert!(!check_password("wrong horse", &h));
        assert!(!check_password("x", "not a hash"));
        assert_eq!(generate_password().len(), 16);
    }

    #[test]
    fn accounts_validate_and_never_duplicate() {
        let d = MemDocs::new();
        add_user(&d, "张三", Role::Investigator, "password1").unwrap();
        assert!(matches!(
            add_user(&d, "张三", Role::Admin, "password1"),
            Err(AuthError::Exists(_))
        ));
        assert!(matches!(
            add_user(&d, "a b", Role::Admin, "password1"),
            Err(AuthError::BadName)
        ));
        assert!(matches!(
            add_user(&d, "ok", Role::Admin, "short"),
            Err(AuthError::WeakPassword)
        ));
        let dummy = hash_password("dummy-password").unwrap();
        assert!(authenticate(&d, &dummy, "张三", "password1")
            .unwrap()
            .is_some());
        assert!(authenticate(&d, &dummy, "张三", "password2")
            .unwrap()
            .is_none());
        assert!(authenticate(&d, &dummy, "nobody", "password1")
            .unwrap()
            .is_none());
        let stored =
            String::from_utf8(d.get_doc(USERS_COLLECTION, "张三").unwrap().unwrap()).unwrap();
        assert!(!stored.contains("password1"));
    }

    #[test]
    fn sessions_expire_when_idle() {
        let s = sessions(50);
        let t = s.open("a", Role::Analyst);
        assert_eq!(s.lookup(&t).unwrap().role, Role::Analyst);
        assert!(s.lookup("nope").is_none());
        std::thread::sleep(Duration::from_millis(80));
        assert!(s.lookup(&t).is_none());
        let t2 = s.open("a", Role::Analyst);
        s.close(&t2);
        assert!(s.lookup(&t2).is_none());
    }

    #[test]
    fn sessions_expire_at_their_absolute_age_even_when_used() {
        let s = Sessions::new(
            SessionLimits {
                idle: Duration::from_secs(3600),
                absolute: Duration::from_millis(400),
            },
            LoginLimits {
                max_failures: 3,
                window: Duration::from_secs(60),
            },
        );
        let t = s.open("a", Role::Analyst);
        // Used every 20 ms (never idle), it still ends once it is older than the absolute bound.
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_millis(200) {
            assert!(s.lookup(&t).is_some());
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(300));
        assert!(s.lookup(&t).is_none());
    }

    #[test]
    fn rate_limit_per_user_and_address() {
        let s = sessions(1000);
        for _ in 0..3 {
            assert!(s.check_rate("a", "1.2.3.4").is_ok());
            s.record_failure("a", "1.2.3.4");
        }
        let wait = s.check_rate("a", "1.2.3.4").unwrap_err();
        assert!((1..=60).contains(&wait));
        assert!(s.check_rate("a", "5.6.7.8").is_ok());
        assert!(s.check_rate("b", "1.2.3.4").is_ok());
        s.clear_failures("a", "1.2.3.4");
        assert!(s.check_rate("a", "1.2.3.4").is_ok());
    }
}
