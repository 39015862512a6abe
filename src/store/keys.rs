//! Key columns in their own type. Rows exectop already knows (by id, by
//! remote id, the compare-and-set write) are found through the table's
//! indexes only when the value is bound in the column's type: comparing
//! `CAST(col AS TEXT)` made PostgreSQL scan the whole table. exectop learns
//! the declared types at start and casts the parameter, never the column;
//! a value that cannot be of that type is refused, naming it and the type.

use std::collections::HashMap;

use super::pool::DbPool;
use super::read::{Store, StoreError, quoted_table};

/// The declared type of a key column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyType {
    /// As the database names it to people (`bigint`, `uuid`, `character varying(64)`).
    pub declared: String,
    /// The type a parameter is cast to on PostgreSQL, without any length
    /// (a cast to `varchar(20)` would truncate a longer value and match
    /// another row): `"pg_catalog"."int8"`. `None` on SQLite, whose
    /// affinity rules convert a bound text value by themselves.
    cast: Option<String>,
    kind: KeyKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyKind {
    Integer { min: i64, max: i64 },
    Uuid,
    Other,
}

impl KeyType {
    fn postgres(declared: String, cast: String, type_name: &str) -> KeyType {
        let kind = match type_name {
            "int2" => KeyKind::Integer {
                min: i16::MIN.into(),
                max: i16::MAX.into(),
            },
            "int4" => KeyKind::Integer {
                min: i32::MIN.into(),
                max: i32::MAX.into(),
            },
            "int8" => KeyKind::Integer {
                min: i64::MIN,
                max: i64::MAX,
            },
            "uuid" => KeyKind::Uuid,
            _ => KeyKind::Other,
        };
        KeyType {
            declared,
            cast: Some(cast),
            kind,
        }
    }

    /// SQLite's rule for INTEGER affinity: the declared type contains "INT".
    fn sqlite(declared: String) -> KeyType {
        let kind = if declared.to_ascii_uppercase().contains("INT") {
            KeyKind::Integer {
                min: i64::MIN,
                max: i64::MAX,
            }
        } else {
            KeyKind::Other
        };
        KeyType {
            declared,
            cast: None,
            kind,
        }
    }

    /// `value` in the form the database gives back for this type (so rows
    /// read can be matched to it), or why it cannot be of this type.
    pub fn admit(&self, value: &str) -> Result<String, StoreError> {
        let refuse = || StoreError::NotOfType {
            value: value.to_string(),
            declared: self.declared.clone(),
        };
        match self.kind {
            KeyKind::Integer { min, max } => {
                let n: i64 = value.trim().parse().map_err(|_| refuse())?;
                if n < min || n > max {
                    return Err(refuse());
                }
                Ok(n.to_string())
            }
            KeyKind::Uuid => canonical_uuid(value).ok_or_else(refuse),
            KeyKind::Other => Ok(value.to_string()),
        }
    }

    /// A value of this type, for a plan that needs one.
    pub fn sample(&self) -> String {
        match self.kind {
            KeyKind::Integer { .. } => "0".into(),
            KeyKind::Uuid => "00000000-0000-0000-0000-000000000000".into(),
            KeyKind::Other => "sample".into(),
        }
    }

    /// The placeholder in the column's type.
    pub(super) fn param(&self, placeholder: &str) -> String {
        let (before, after) = self.cast_around();
        format!("{before}{placeholder}{after}")
    }

    /// What goes before and after a placeholder to cast it to this type.
    pub(super) fn cast_around(&self) -> (String, String) {
        match &self.cast {
            Some(cast) => ("CAST(".into(), format!(" AS {cast})")),
            None => (String::new(), String::new()),
        }
    }
}

/// The hyphenated lower-case form PostgreSQL prints, from any form it
/// accepts (upper case, no hyphens, braces).
fn canonical_uuid(value: &str) -> Option<String> {
    let hex: String = value
        .trim()
        .trim_start_matches('{')
        .trim_end_matches('}')
        .chars()
        .filter(|c| *c != '-')
        .collect();
    if hex.len() != 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let h = hex.to_ascii_lowercase();
    Some(format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    ))
}

/// The declared types of the table's columns, by name.
pub(super) async fn declared_types(
    pool: &DbPool,
    table: &str,
) -> Result<HashMap<String, KeyType>, StoreError> {
    let query_error = |e: sqlx::Error| StoreError::Query(format!("database query failed: {e}"));
    Ok(match pool {
        DbPool::Postgres(p) => {
            let rows: Vec<(String, String, String, String)> = sqlx::query_as(
                "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod), \
                 quote_ident(n.nspname) || '.' || quote_ident(t.typname), t.typname::text \
                 FROM pg_attribute a JOIN pg_type d ON d.oid = a.atttypid \
                 JOIN pg_type t ON t.oid = CASE WHEN d.typtype = 'd' THEN d.typbasetype ELSE d.oid END \
                 JOIN pg_namespace n ON n.oid = t.typnamespace \
                 WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped",
            )
            .bind(quoted_table(table))
            .fetch_all(p)
            .await
            .map_err(query_error)?;
            rows.into_iter()
                .map(|(name, declared, cast, type_name)| {
                    (name, KeyType::postgres(declared, cast, &type_name))
                })
                .collect()
        }
        DbPool::Sqlite(p) => {
            let rows: Vec<(String, String)> =
                sqlx::query_as("SELECT name, type FROM pragma_table_info(?1)")
                    .bind(table.to_string())
                    .fetch_all(p)
                    .await
                    .map_err(query_error)?;
            rows.into_iter()
                .map(|(name, declared)| (name, KeyType::sqlite(declared)))
                .collect()
        }
    })
}

impl Store {
    /// The declared type of the mapped `id` column, learned once.
    pub async fn id_type(&self) -> Option<KeyType> {
        let column = self.table().id.clone();
        self.column_type(&column).await
    }

    /// The declared type of the mapped remote-id column, learned once.
    pub async fn remote_id_type(&self) -> Option<KeyType> {
        let column = self.table().remote_id.clone()?;
        self.column_type(&column).await
    }

    async fn column_type(&self, column: &str) -> Option<KeyType> {
        if self.known_types().is_none() {
            match declared_types(self.pool(), &self.table().name).await {
                Ok(types) => self.keep_types(types),
                Err(e) => {
                    tracing::warn!("cannot read the column types of {}: {e}", self.table().name);
                    return None;
                }
            }
        }
        self.known_types()?.get(column).cloned()
    }

    /// Each id in the id column's form, or why it cannot be of its type
    /// (`"abc" cannot be a bigint (table.id "id")`).
    pub async fn admit_ids(&self, ids: &[String]) -> Vec<Result<String, StoreError>> {
        let kind = self.id_type().await;
        ids.iter()
            .map(|id| match &kind {
                Some(k) => k.admit(id).map_err(|e| match e {
                    StoreError::NotOfType { value, declared } => StoreError::IdNotOfType {
                        value,
                        declared,
                        column: self.table().id.clone(),
                    },
                    other => other,
                }),
                None => Ok(id.clone()),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_admitted_in_their_columns_form_or_refused_by_name() {
        let bigint = KeyType::postgres("bigint".into(), "pg_catalog.int8".into(), "int8");
        assert_eq!(bigint.admit("42"), Ok("42".into()));
        assert_eq!(bigint.admit(" 007 "), Ok("7".into()));
        assert_eq!(
            bigint.admit("abc").unwrap_err().to_string(),
            "\"abc\" cannot be a bigint"
        );
        let int = KeyType::postgres("integer".into(), "pg_catalog.int4".into(), "int4");
        assert!(int.admit("3000000000").is_err(), "past i32");
        let uuid = KeyType::postgres("uuid".into(), "pg_catalog.uuid".into(), "uuid");
        assert_eq!(
            uuid.admit("{A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11}"),
            Ok("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11".into())
        );
        assert_eq!(
            uuid.admit("a0eebc999c0b4ef8bb6d6bb9bd380a11"),
            Ok("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11".into())
        );
        assert!(uuid.admit("a0eebc99-9c0b").is_err());
        let text = KeyType::postgres(
            "character varying(8)".into(),
            "pg_catalog.varchar".into(),
            "varchar",
        );
        assert_eq!(text.admit("anything at all"), Ok("anything at all".into()));
        assert_eq!(text.param("$1"), "CAST($1 AS pg_catalog.varchar)");
        let sqlite = KeyType::sqlite("INTEGER".into());
        assert!(sqlite.admit("x").is_err());
        assert_eq!(sqlite.param("?1"), "?1");
    }
}
