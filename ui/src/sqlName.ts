// A table or column name as it must be written in a SQL cell: DataFusion folds unquoted names to
// lower case, so any other name (capitals, spaces, a keyword-like start) is double-quoted.
const PLAIN = /^[a-z_][a-z0-9_]*$/;

export function sqlName(name: string): string {
  return PLAIN.test(name) ? name : `"${name.replace(/"/g, '""')}"`;
}
