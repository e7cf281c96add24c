//! A readiness endpoint for axum applications (cargo feature `axum`): `GET /ready` answers 200
//! with the [`Health`] JSON when the database is exactly what this build expects, and 503
//! with the same JSON (what is wrong, what to run) otherwise, so that a load balancer keeps
//! traffic away from an instance whose database is empty, behind, drifted or dirty.
//!
//! ```no_run
//! # async fn run() -> dbguard::Result<()> {
//! let migrator = dbguard::Migrator::from_dir("migrations")?;
//! let ready = dbguard::ready::Ready::new(migrator, "sqlite://app.db", &["users"]);
//! let app: axum::Router = axum::Router::new().merge(dbguard::ready::router(ready));
//! # drop(app); Ok(()) }
//! ```

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use crate::db::database::Database;
use crate::migrate::migrator::Migrator;
use crate::model::health::{Health, Status};

/// What the handler checks: a migrator, the database URL and the tables that must exist. One
/// connection is kept between requests and opened again after an error.
pub struct Ready {
    migrator: Migrator,
    url: String,
    required: Vec<String>,
    db: tokio::sync::Mutex<Option<Database>>,
}

impl Ready {
    /// The state for [`handler`] and [`router`].
    pub fn new(migrator: Migrator, url: impl Into<String>, required: &[&str]) -> Arc<Ready> {
        Arc::new(Ready {
            migrator,
            url: url.into(),
            required: required.iter().map(|s| s.to_string()).collect(),
            db: tokio::sync::Mutex::new(None),
        })
    }

    /// The health now; a database that cannot be reached is critical.
    pub async fn health(&self) -> Health {
        let mut slot = self.db.lock().await;
        if slot.is_none() {
            match Database::connect(&self.url).await {
                Ok(db) => *slot = Some(db),
                Err(e) => {
                    return Health::unreachable(
                        self.migrator.tier_for_url(&self.url).as_str(),
                        &crate::mask_url(&self.url),
                        e.to_string(),
                    );
                }
            }
        }
        let db = slot.as_mut().expect("connected above");
        let required: Vec<&str> = self.required.iter().map(String::as_str).collect();
        match self.migrator.health(db, &required).await {
            Ok(h) => h,
            Err(e) => {
                *slot = None; // a broken connection is not kept
                Health::unreachable(
                    self.migrator.tier_for_url(&self.url).as_str(),
                    &crate::mask_url(&self.url),
                    e.to_string(),
                )
            }
        }
    }
}

/// `GET` handler: 200 and the health JSON when healthy, 503 and the same JSON otherwise.
pub async fn handler(State(ready): State<Arc<Ready>>) -> (StatusCode, Json<Health>) {
    let h = ready.health().await;
    let code = if h.status == Status::Healthy { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (code, Json(h))
}

/// A router with `GET /ready` served by [`handler`].
pub fn router(ready: Arc<Ready>) -> axum::Router {
    axum::Router::new().route("/ready", axum::routing::get(handler)).with_state(ready)
}
