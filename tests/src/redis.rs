//! Redis for tests: the one server every test shares, each test under a
//! namespace of its own (see [`crate::test_backends`]).

/// The test Redis URL.
pub fn redis_url() -> String {
    std::env::var("MINDWELL_TEST_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// A connected client of the test Redis; panics (never skips) without one.
pub async fn redis() -> fred::prelude::Client {
    let redis =
        fred::prelude::Client::new(fred::prelude::Config::from_url(&redis_url()).expect("redis url"), None, None, None);
    fred::prelude::ClientLike::init(&redis)
        .await
        .unwrap_or_else(|e| panic!("Redis is not reachable at {}: {e}. The tests need it.", redis_url()));
    redis
}

/// Every Redis key matching `pattern` (a full SCAN).
pub async fn redis_keys(pattern: &str) -> Vec<String> {
    use fred::prelude::KeysInterface;
    let redis = redis().await;
    let mut cursor = "0".to_owned();
    let mut keys = Vec::new();
    loop {
        let (next, page): (String, Vec<String>) =
            redis.scan_page(cursor, pattern.to_owned(), Some(1000), None).await.expect("scan");
        keys.extend(page);
        if next == "0" {
            return keys;
        }
        cursor = next;
    }
}
