//! The server's persistence seam: small JSON documents (users, case maps, audit entries) in named
//! collections. The production backend is the graph store's document API; tests may use
//! [`MemDocs`]. Everything the server persists goes through [`DocStore`], so the rest of the
//! server does not depend on how or where documents are kept.

use std::collections::BTreeMap;
use std::sync::Mutex;

/// A failure of the document backend. Its text is logged, never sent to a client.
#[derive(Debug, thiserror::Error)]
#[error("document store: {0}")]
pub struct DocError(pub String);

/// Collections of byte documents, each kept in key order.
pub trait DocStore: Send + Sync + 'static {
    fn put_doc(&self, collection: &str, key: &str, value: &[u8]) -> Result<(), DocError>;
    fn get_doc(&self, collection: &str, key: &str) -> Result<Option<Vec<u8>>, DocError>;
    /// Every document of a collection, in key order.
    fn scan_docs(&self, collection: &str) -> Result<Vec<(String, Vec<u8>)>, DocError>;
    fn delete_doc(&self, collection: &str, key: &str) -> Result<(), DocError>;
}

/// An in-memory [`DocStore`] for tests and for a server started without a database.
type DocMap = BTreeMap<(String, String), Vec<u8>>;

#[derive(Default)]
pub struct MemDocs {
    inner: Mutex<DocMap>,
}

impl MemDocs {
    pub fn new() -> MemDocs {
        MemDocs::default()
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, DocMap>, DocError> {
        self.inner
            .lock()
            .map_err(|_| DocError("memory backend poisoned".to_string()))
    }
}

impl DocStore for MemDocs {
    fn put_doc(&self, collection: &str, key: &str, value: &[u8]) -> Result<(), DocError> {
        self.lock()?
            .insert((collection.to_string(), key.to_string()), value.to_vec());
        Ok(())
    }

    fn get_doc(&self, collection: &str, key: &str) -> Result<Option<Vec<u8>>, DocError> {
        Ok(self
            .lock()?
            .get(&(collection.to_string(), key.to_string()))
            .cloned())
    }

    fn scan_docs(&self, collection: &str) -> Result<Vec<(String, Vec<u8>)>, DocError> {
        let map = self.lock()?;
        let start = (collection.to_string(), String::new());
        Ok(map
            .range(start..)
            .take_while(|((c, _), _)| c == collection)
            .map(|((_, k), v)| (k.clone(), v.clone()))
            .collect())
    }

    fn delete_doc(&self, collection: &str, key: &str) -> Result<(), DocError> {
        self.lock()?
            .remove(&(collection.to_string(), key.to_string()));
        Ok(())
    }
}

/// The production backend: the graph store's document API.
impl DocStore for crate::store::Store {
    fn put_doc(&self, collection: &str, key: &str, value: &[u8]) -> Result<(), DocError> {
        crate::store::Store::put_doc(self, collection, key, value)
            .map_err(|e| DocError(e.to_string()))
    }

    fn get_doc(&self, collection: &str, key: &str) -> Result<Option<Vec<u8>>, DocError> {
        crate::store::Store::get_doc(self, collection, key).map_err(|e| DocError(e.to_string()))
    }

    fn scan_docs(&self, collection: &str) -> Result<Vec<(String, Vec<u8>)>, DocError> {
        crate::store::Store::scan_docs(self, collection).map_err(|e| DocError(e.to_string()))
    }

    fn delete_doc(&self, collection: &str, key: &str) -> Result<(), DocError> {
        crate::store::Store::delete_doc(self, collection, key).map_err(|e| DocError(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_is_per_collection_in_key_order() {
        let d = MemDocs::new();
        d.put_doc("b", "2", b"x").unwrap();
        d.put_doc("a", "9", b"y").unwrap();
        d.put_doc("b", "1", b"z").unwrap();
        d.put_doc("c", "0", b"w").unwrap();
        let keys: Vec<String> = d
            .scan_docs("b")
            .unwrap()
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(keys, ["1", "2"]);
        d.delete_doc("b", "1").unwrap();
        assert_eq!(d.get_doc("b", "1").unwrap(), None);
        assert_eq!(d.get_doc("b", "2").unwrap().as_deref(), Some(&b"x"[..]));
    }

    #[test]
    fn the_store_is_a_doc_store() {
        let s: &dyn DocStore = &crate::store::Store::in_memory();
        s.put_doc("users", "b", b"2").unwrap();
        s.put_doc("users", "a", b"1").unwrap();
        s.put_doc("userz", "a", b"x").unwrap();
        let all = s.scan_docs("users").unwrap();
        assert_eq!(
            all,
            vec![
                ("a".to_string(), b"1".to_vec()),
                ("b".to_string(), b"2".to_vec())
            ]
        );
        s.delete_doc("users", "a").unwrap();
        assert_eq!(s.get_doc("users", "a").unwrap(), None);
    }
}
