include!("src/command_names.rs");

fn main() {
    // Declaring the app's commands makes each one a permission that a capability must grant:
    // a window only reaches the commands its capability file lists.
    let manifest = tauri_build::AppManifest::new().commands(COMMANDS);
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .capabilities_path_pattern("./src-tauri/capabilities/**/*")
            .app_manifest(manifest),
    )
    .expect("tauri-build");
}
