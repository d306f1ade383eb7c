// The theme colours as styles.css sets them, for the contrast tests: each theme's custom
// properties (dark inherits what it does not set from light).
import css from "./styles.css?raw";

export { css };

function block(selector: string): Record<string, string> {
  const at = css.indexOf(`${selector} {`);
  if (at < 0) throw new Error(`styles.css has no ${selector} block`);
  const body = css.slice(css.indexOf("{", at) + 1, css.indexOf("}", at));
  return Object.fromEntries([...body.matchAll(/(--[\w-]+)\s*:\s*([^;]+);/g)].map((m) => [m[1]!, m[2]!.trim()]));
}

const light = block(":root");
export const themes = { light, dark: { ...light, ...block(":root[data-theme=dark]") } };
