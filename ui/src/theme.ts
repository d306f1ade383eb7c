// Light, dark or the system's choice; kept in localStorage (a display preference, not data).
// The page always carries the resolved theme in `data-theme`, so the stylesheet has one set
// of dark colours.
export type Theme = "system" | "light" | "dark";
const KEY = "quire.theme";
const systemDark = () => typeof matchMedia === "function" && matchMedia("(prefers-color-scheme: dark)").matches;
let followSystem: (() => void) | null = null;

export function savedTheme(): Theme {
  const t = typeof localStorage === "undefined" ? null : localStorage.getItem(KEY);
  return t === "light" || t === "dark" ? t : "system";
}

export function applyTheme(theme: Theme) {
  const root = document.documentElement;
  const set = () => {
    const dark = theme === "dark" || (theme === "system" && systemDark());
    root.dataset.theme = dark ? "dark" : "light";
    root.style.colorScheme = dark ? "dark" : "light";
  };
  set();
  const media = typeof matchMedia === "function" ? matchMedia("(prefers-color-scheme: dark)") : null;
  if (followSystem) media?.removeEventListener("change", followSystem);
  followSystem = theme === "system" ? set : null;
  if (followSystem) media?.addEventListener("change", followSystem);
  localStorage.setItem(KEY, theme);
}
