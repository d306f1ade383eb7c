//! The window shows Quire's own pages and nothing else: a link in a chart, a notebook's Markdown
//! or a page that was tricked cannot take it to a web page (which would then be talking to
//! Quire's commands).

use tauri::plugin::TauriPlugin;
use tauri::Url;

/// Refuses every navigation but to the app's own origin (and, in debug builds, the Vite dev
/// server).
pub fn guard() -> TauriPlugin<tauri::Wry> {
    tauri::plugin::Builder::new("navigation-guard")
        .on_navigation(|_, url| {
            let allowed = is_app(url);
            if !allowed {
                log::warn!("refused to navigate the window to {url}");
            }
            allowed
        })
        .build()
}

fn is_app(url: &Url) -> bool {
    match (url.scheme(), url.host_str()) {
        ("tauri", _) => true,
        ("http" | "https", Some("tauri.localhost")) => true,
        ("http", Some("localhost")) => cfg!(debug_assertions) && url.port() == Some(5173),
        ("about", _) => url.as_str() == "about:blank",
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_apps_own_pages_are_allowed() {
        for ok in [
            "tauri://localhost/index.html",
            "http://tauri.localhost/",
            "about:blank",
        ] {
            assert!(is_app(&Url::parse(ok).unwrap()), "{ok}");
        }
        for refused in [
            "https://example.com/",
            "http://tauri.localhost.evil.com/",
            "file:///etc/passwd",
            "http://localhost:8080/",
            "javascript:alert(1)",
        ] {
            assert!(!is_app(&Url::parse(refused).unwrap()), "{refused}");
        }
    }
}
