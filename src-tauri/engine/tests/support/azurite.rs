//! Azurite, Microsoft's Azure Storage server (from the npm registry, installed into the target
//! dir by this module from `tests/azure/package-lock.json`), serving blobs on a free loopback
//! port, for tests that need a real Blob API server.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;

/// Azurite's own account and its published key (the same in every copy of Azurite).
pub const ACCOUNT: &str = "devstoreaccount1";
pub const KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// Azurite's blob service, killed when dropped.
pub struct Azurite {
    child: Child,
    /// `http://127.0.0.1:<port>/devstoreaccount1`: the account's address, path-style.
    pub endpoint: String,
    port: u16,
}

impl Azurite {
    /// Serving `accounts` (name, base64 key) beside Azurite's own.
    pub fn start(accounts: &[(&str, &str)]) -> Azurite {
        let main = install();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("node")
            .arg(main)
            .args([
                "--blobHost",
                "127.0.0.1",
                "--blobPort",
                &port.to_string(),
                "--inMemoryPersistence",
                "--disableTelemetry",
                "--skipApiVersionCheck",
                "--silent",
            ])
            // Custom accounts replace Azurite's own, so it is listed again.
            .env(
                "AZURITE_ACCOUNTS",
                std::iter::once((ACCOUNT, KEY))
                    .chain(accounts.iter().copied())
                    .map(|(name, key)| format!("{name}:{key}"))
                    .collect::<Vec<_>>()
                    .join(";"),
            )
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("Azurite starts (node is on PATH)");
        let azurite = Azurite {
            child,
            endpoint: format!("http://127.0.0.1:{port}/{ACCOUNT}"),
            port,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "Azurite did not listen within 60 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        azurite
    }

    /// Makes a private container, with one request signed with the account's key.
    pub fn create_container(&self, name: &str) {
        let date = httpdate();
        let version = "2021-08-06";
        let path = format!("/{ACCOUNT}/{name}");
        let to_sign = format!(
            "PUT\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:{date}\nx-ms-version:{version}\n/{ACCOUNT}{path}\nrestype:container"
        );
        let key = base64::engine::general_purpose::STANDARD
            .decode(KEY)
            .unwrap();
        let signature = ring::hmac::sign(
            &ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &key),
            to_sign.as_bytes(),
        );
        let signature = base64::engine::general_purpose::STANDARD.encode(signature.as_ref());
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        write!(
            stream,
            "PUT {path}?restype=container HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nx-ms-date: {date}\r\nx-ms-version: {version}\r\nAuthorization: SharedKey {ACCOUNT}:{signature}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.port
        )
        .unwrap();
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        assert!(
            answer.starts_with("HTTP/1.1 201"),
            "creating the container {name}: {answer}"
        );
    }
}

impl Drop for Azurite {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Azurite's blob server script, installed with `npm ci` once per lock file into the target
/// dir (made in a sibling folder and renamed into place, so a concurrent run never sees half
/// an install).
fn install() -> PathBuf {
    // The engine's own tests, or another crate's that include this file (the cluster's).
    let lock = [
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/azure"),
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../engine/tests/azure"),
    ]
    .into_iter()
    .find(|dir| dir.join("package-lock.json").exists())
    .expect("the engine's tests/azure/package-lock.json");
    let wanted = std::fs::read_to_string(lock.join("package-lock.json")).unwrap();
    let dir = target_dir().join("azurite");
    let main = |dir: &Path| dir.join("node_modules/azurite/dist/src/blob/main.js");
    let stamp = |dir: &Path| dir.join("quire-package-lock.json");
    if std::fs::read_to_string(stamp(&dir)).is_ok_and(|s| s == wanted) && main(&dir).exists() {
        return main(&dir);
    }
    let building = target_dir().join(format!("azurite.building-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&building);
    std::fs::create_dir_all(&building).unwrap();
    for file in ["package.json", "package-lock.json"] {
        std::fs::copy(lock.join(file), building.join(file)).unwrap();
    }
    let output = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(&building)
        .output()
        .expect("npm runs");
    assert!(
        output.status.success(),
        "npm ci of Azurite failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    std::fs::write(stamp(&building), &wanted).unwrap();
    if dir.exists() {
        let old = target_dir().join(format!("azurite.old-{}", std::process::id()));
        if std::fs::rename(&dir, &old).is_ok() {
            let _ = std::fs::remove_dir_all(&old);
        }
    }
    if std::fs::rename(&building, &dir).is_err() {
        let _ = std::fs::remove_dir_all(&building);
    }
    main(&dir)
}

/// `$CARGO_TARGET_DIR`, else the target dir this test binary was built in.
fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        // <target>/debug/deps/<test>-<hash>
        _ => std::env::current_exe()
            .ok()
            .and_then(|exe| Some(exe.parent()?.parent()?.parent()?.to_path_buf()))
            .unwrap_or_else(std::env::temp_dir),
    }
}

/// Now as an HTTP date (`Sun, 06 Dec 2026 04:00:00 GMT`), which `x-ms-date` takes.
fn httpdate() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let days = secs / 86_400;
    let (h, m, s) = ((secs / 3600) % 24, (secs / 60) % 60, secs % 60);
    let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][(days % 7) as usize];
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let name = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ][(month - 1) as usize];
    format!("{weekday}, {day:02} {name} {year} {h:02}:{m:02}:{s:02} GMT")
}
