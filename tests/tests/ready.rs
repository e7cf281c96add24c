//! The axum ready handler (feature `axum`): 503 with the reason until the database is what the
//! build expects, then 200 with the health JSON.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use dbguard::{BackendKind, Migrator};
use dbguard_tests::{MigrationDir, TestDb, on_each_engine};
use tower::ServiceExt;

async fn get(app: &axum::Router) -> (StatusCode, serde_json::Value) {
    let res = app.clone().oneshot(Request::get("/ready").body(Body::empty()).unwrap()).await.unwrap();
    let status = res.status();
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 20).await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap())
}

async fn ready_answers_503_until_migrated_then_200(kind: BackendKind) {
    let Some(t) = TestDb::new(kind).await else { return };
    let dir = MigrationDir::new();
    dir.add("1", "create_users", "CREATE TABLE users (id BIGINT NOT NULL PRIMARY KEY);", "DROP TABLE users;");
    let m = Migrator::from_dir(dir.path()).unwrap();
    let app = dbguard::ready::router(dbguard::ready::Ready::new(m.clone(), t.url.clone(), &["users"]));

    let (status, body) = get(&app).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["status"], "critical");
    assert!(body["messages"][0].as_str().unwrap().contains("cargo dbguard up"), "{body}");

    let mut db = t.connect().await;
    m.up(&mut db, None).await.unwrap();
    let (status, body) = get(&app).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "healthy");
    assert_eq!(body["current_version"], 1);

    db.execute("DROP TABLE users").await.unwrap();
    let (status, body) = get(&app).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(body["messages"].to_string().contains("required table users does not exist"), "{body}");
}
on_each_engine!(ready_answers_503_until_migrated_then_200);

#[tokio::test]
async fn an_unreachable_database_is_503_without_its_password() {
    let m = Migrator::new(Vec::new()).unwrap();
    let url = "postgres://app:Pw-ready-secret@127.0.0.1:1/shop";
    let app = dbguard::ready::router(dbguard::ready::Ready::new(m, url, &[]));
    let (status, body) = get(&app).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["status"], "critical");
    assert_eq!(body["url"], "postgres://app:***@127.0.0.1:1/shop");
    assert!(!body.to_string().contains("Pw-ready-secret"), "{body}");
}
