// The import YAML as Guacamole 1.6.0's importer reads it: its connectionParseService.js reads the file
// with `parse` of the npm package yaml (`import { parse as parseYAMLData } from 'yaml'`), default options,
// at the version its package-lock.json pins (2.5.0, pinned likewise in this repository's package.json).
// YAML on standard input; what parse made of it, as JSON, on standard output (tests/test_import_files.py).
import { parse } from 'yaml';

const chunks = [];
for await (const chunk of process.stdin) {
    chunks.push(chunk);
}
process.stdout.write(JSON.stringify(parse(Buffer.concat(chunks).toString('utf8'))));
