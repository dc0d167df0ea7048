import { readFileSync } from 'node:fs';
import { templatesDir } from './render/templates.js';
import { dirname, join } from 'node:path';

/** Name and version from package.json: recorded in manifests and on each card. */
export const TOOL: { name: string; version: string } = (() => {
  const pkg = JSON.parse(readFileSync(join(dirname(templatesDir()), 'package.json'), 'utf8')) as { name: string; version: string };
  return { name: pkg.name, version: pkg.version };
})();
