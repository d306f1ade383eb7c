import { defineConfig } from "vitest/config";
import react from "@vitejs/plugin-react";

// The webview is WebKitGTK on Linux, WKWebView on macOS, WebView2 on Windows.
export default defineConfig({
  plugins: [react()],
  clearScreen: false,
  server: { port: 5173, strictPort: true },
  // The chart paint worker imports Vega lazily, which needs a module worker.
  worker: { format: "es" },
  build: {
    target: ["es2022", "safari16"],
    sourcemap: false,
    chunkSizeWarningLimit: 2048,
  },
  test: {
    environment: "jsdom",
    include: ["src/**/*.test.{ts,tsx}"],
    // Vitest blanks CSS by default; sqlHighlight.test.ts reads the theme colours from styles.css.
    css: { include: [/styles\.css/] },
  },
});
