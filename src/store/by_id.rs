//! Rows by id or by remote id, each value bound in its column's type, in
//! chunks of `IDS_PER_QUERY`; with each row, what a write's compare-and-set
//! rests on.

use super::{FIELDS, IDS_PER_QUERY, Store, StoreError};
use crate::domain::Execution;
use crate::store::cas::RowVersion;
use crate::store::filter::{Filter, Keys};
use crate::store::keys::KeyType;
use crate::store::pool::Backend;

impl Store {
    /// Rows by id. Ids that cannot be of the id column's type match nothing.
    pub async fn by_ids(&self, ids: &[String]) -> Result<Vec<Execution>, StoreError> {
        let filter = self.id_filter(ids).await;
        self.fetch(filter).await
    }

    /// `id IN (…)` with each value bound in the column's type.
    pub(super) async fn id_filter(&self, ids: &[String]) -> Filter {
        let kind = self.id_type().await;
        Filter::KeyIn(self.table.id.clone(), admitted(kind, ids))
    }

    /// Rows by id, each with what a write's compare-and-set rests on.
    pub async fn by_ids_versioned(
        &self,
        ids: &[String],
    ) -> Result<Vec<(Execution, RowVersion)>, StoreError> {
        let Filter::KeyIn(col, key) = self.id_filter(ids).await else {
            unreachable!("id_filter is a KeyIn")
        };
        if key.values.is_empty() {
            return Ok(Vec::new());
        }
        let version = match self.backend() {
            Backend::Postgres => "xmin::text",
            Backend::Sqlite => "CAST(NULL AS TEXT)",
        };
        let head = self
            .select_sql()
            .replacen(" FROM ", &format!(", {version} FROM "), 1);
        let mut rows = Vec::new();
        for slice in key.values.chunks(IDS_PER_QUERY) {
            let filter = Filter::KeyIn(
                col.clone(),
                Keys {
                    kind: key.kind.clone(),
                    values: slice.to_vec(),
                },
            );
            for mut r in self.text_rows(head.clone(), &filter, "").await? {
                let xmin = r.get_mut(FIELDS.len()).and_then(Option::take);
                let seen = RowVersion {
                    status_raw: r[1].clone().unwrap_or_default(),
                    remote_id: r[2].clone(),
                    updated_at: r[7].clone(),
                    xmin,
                };
                if let Some(e) = self.decode(r) {
                    rows.push((e, seen));
                }
            }
        }
        Ok(rows)
    }

    /// Rows by remote id, bound in the remote-id column's type.
    pub async fn by_remote_ids(&self, ids: &[String]) -> Result<Vec<Execution>, StoreError> {
        let Some(col) = self.table.remote_id.clone() else {
            return Ok(Vec::new());
        };
        let kind = self.remote_id_type().await;
        self.fetch(Filter::KeyIn(col, admitted(kind, ids))).await
    }
}

/// The values that can be of the key column's type, in its form; the others
/// cannot match any row and are left out.
fn admitted(kind: Option<KeyType>, values: &[String]) -> Keys {
    let values = match &kind {
        Some(k) => values.iter().filter_map(|v| k.admit(v).ok()).collect(),
        None => values.to_vec(),
    };
    Keys { kind, values }
}
