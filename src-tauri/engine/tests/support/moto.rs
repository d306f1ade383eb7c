//! moto's S3 server (from PyPI, into a venv of the target dir) on a free loopback port, for
//! tests that need a real S3 API server.

#[path = "venv.rs"]
mod venv;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// moto's S3 server on a free loopback port, killed when dropped.
pub struct Moto {
    child: Child,
    pub endpoint: String,
}

impl Moto {
    /// Started from a venv with `requirements` (the engine's `tests/s3/requirements.txt`).
    pub fn start(requirements: &Path) -> Moto {
        let venv = venv::dir("s3-venv");
        let python = venv::ensure(&venv, requirements);
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(python)
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto's server starts");
        let moto = Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        // Ready once it answers HTTP (the first start imports a lot of Python).
        let deadline = Instant::now() + Duration::from_secs(90);
        while http(&moto.endpoint, "GET", "/").is_none() {
            assert!(
                Instant::now() < deadline,
                "moto's server did not answer within 90 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        moto
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One plain HTTP request; the status line's code, or None when nothing answered.
pub fn http(endpoint: &str, method: &str, path: &str) -> Option<u16> {
    let host = endpoint.trim_start_matches("http://");
    let mut stream = TcpStream::connect(host).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}
