// Light, dark or the system's choice; kept in localStorage (a display preference, not data).
export type Theme = "system" | "light" | "dark";
const KEY = "quire.theme";

export function savedTheme(): Theme {
  const t = typeof localStorage === "undefined" ? null : localStorage.getItem(KEY);
  return t === "light" || t === "dark" ? t : "system";
}

export function applyTheme(theme: Theme) {
  const root = document.documentElement;
  if (theme === "system") delete root.dataset.theme;
  else root.dataset.theme = theme;
  root.style.colorScheme = theme === "system" ? "light dark" : theme;
  localStorage.setItem(KEY, theme);
}
