//! Starts the built `vecstore-server` binary on an ephemeral port and talks to it over HTTP.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::blocking::{Client, RequestBuilder, Response};
use serde_json::Value;

pub struct Server {
    pub child: Child,
    pub base: String,
    pub client: Client,
    pub token: Option<String>,
}

impl Server {
    /// Starts the server with `args` (plus `--http-port 0`) and waits for its "listening" line.
    pub fn start(args: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_vecstore-server"))
            .args(args)
            .args(["--http-port", "0"])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start vecstore-server");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            if let Some(Ok(line)) = lines.next() {
                let _ = tx.send(line);
            }
            for _ in lines {}
        });
        let line = rx.recv_timeout(Duration::from_secs(60)).expect("server printed its address");
        let base = line.rsplit(' ').next().unwrap().to_string();
        assert!(base.starts_with("http://"), "{line}");
        let client = Client::builder().timeout(Duration::from_secs(120)).build().unwrap();
        let token = args.iter().position(|a| *a == "--admin-token").map(|i| args[i + 1].to_string());
        Server { child, base, client, token }
    }

    pub fn namespaces(root: &Path) -> Server {
        Server::start(&["--namespaces", "--namespace-root", root.to_str().unwrap()])
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    fn auth(&self, b: RequestBuilder) -> RequestBuilder {
        match &self.token {
            Some(t) => b.bearer_auth(t),
            None => b,
        }
    }

    /// Requests with the admin token (when the server has one).
    pub fn get(&self, path: &str) -> Response {
        self.auth(self.client.get(self.url(path))).send().unwrap()
    }
    pub fn delete(&self, path: &str) -> Response {
        self.auth(self.client.delete(self.url(path))).send().unwrap()
    }
    pub fn post(&self, path: &str, body: &Value) -> Response {
        self.auth(self.client.post(self.url(path))).json(body).send().unwrap()
    }
    pub fn put(&self, path: &str, body: &Value) -> Response {
        self.auth(self.client.put(self.url(path))).json(body).send().unwrap()
    }
    pub fn post_empty(&self, path: &str) -> Response {
        self.auth(self.client.post(self.url(path))).send().unwrap()
    }

    /// A request with another credential (`None`: none at all).
    pub fn with_key(&self, method: &str, path: &str, key: Option<&str>, body: Option<&Value>) -> Response {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut b = self.client.request(m, self.url(path));
        if let Some(k) = key {
            b = b.bearer_auth(k);
        }
        if let Some(body) = body {
            b = b.json(body);
        }
        b.send().unwrap()
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    pub fn signal(&self, sig: i32) {
        // SAFETY: kill(2) on our own child's pid.
        assert_eq!(unsafe { libc::kill(self.pid(), sig) }, 0);
    }

    /// Sends SIGTERM and waits for the exit code.
    pub fn stop(mut self) -> i32 {
        self.signal(libc::SIGTERM);
        let code = wait_exit(&mut self.child, Duration::from_secs(60));
        std::mem::forget(self);
        code
    }
}

pub fn wait_exit(child: &mut Child, limit: Duration) -> i32 {
    let start = std::time::Instant::now();
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return st.code().unwrap_or(-1);
        }
        assert!(start.elapsed() < limit, "server did not exit");
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Status and JSON body of a response.
pub fn json(r: Response) -> (u16, Value) {
    let status = r.status().as_u16();
    let ct = r.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let text = r.text().unwrap();
    assert!(ct.starts_with("application/json"), "status {status}: content type {ct:?}, body {text}");
    (status, serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}")))
}

/// Asserts an error answer: status and code, and that the message is a non-empty string.
pub fn expect_error(r: Response, status: u16, code: &str) -> Value {
    let (s, body) = json(r);
    assert_eq!(s, status, "{body}");
    assert_eq!(body["code"], code, "{body}");
    assert!(body["error"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
    body
}

pub fn ok(r: Response) -> Value {
    let (s, body) = json(r);
    assert!((200..300).contains(&s), "status {s}: {body}");
    body
}

/// A deterministic vector of dimension `dim` for record `i`.
pub fn vector(i: usize, dim: usize) -> Vec<f32> {
    let mut x = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..dim)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % 2000) as f32 / 1000.0 - 1.0
        })
        .collect()
}
