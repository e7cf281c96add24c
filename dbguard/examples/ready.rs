//! An axum application that serves `GET /ready` from dbguard's health check.
//!
//! ```sh
//! cargo run -p dbguard --features axum --example ready -- sqlite://target/shop.db examples/shop/migrations
//! curl -i http://127.0.0.1:3000/ready   # 200 with the health JSON, or 503 saying what to run
//! ```

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let url = args.next().unwrap_or_else(|| "sqlite://target/shop.db".into());
    let migrations = args.next().unwrap_or_else(|| "examples/shop/migrations".into());
    let migrator = dbguard::Migrator::from_dir(&migrations)?;
    let app = axum::Router::new()
        .route("/", axum::routing::get(|| async { "the shop" }))
        .merge(dbguard::ready::router(dbguard::ready::Ready::new(migrator, url, &[])));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("listening on http://{}/ready", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
