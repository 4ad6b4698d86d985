// Prettier, set to the dashboard's existing style (so formatting it changed little):
// single quotes, 2-space indent, 100 columns, trailing commas wherever allowed.
// Passed with --config by run.sh (Prettier looks for its config next to each file).

export default {
  printWidth: 100,
  tabWidth: 2,
  singleQuote: true,
  trailingComma: 'all',
  arrowParens: 'always',
  endOfLine: 'lf',
};
