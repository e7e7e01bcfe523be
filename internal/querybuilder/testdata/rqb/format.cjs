// Reads a JSON array of react-querybuilder rule groups on stdin and prints a
// JSON array with formatQuery(q, {format: "cel", parseNumbers: true}) of each.
// Used by internal/querybuilder's agreement test as the reference translation.
'use strict';
const { formatQuery } = require('react-querybuilder/formatQuery');

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => { input += chunk; });
process.stdin.on('end', () => {
  const queries = JSON.parse(input);
  const out = queries.map((q) => formatQuery(q, { format: 'cel', parseNumbers: true }));
  process.stdout.write(JSON.stringify(out));
});
