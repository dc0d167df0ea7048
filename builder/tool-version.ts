import { readFileSync } from 'node:fs';
import { fromPackageRoot } from './package-root.js';

/** Name and version from package.json: recorded in manifests and on each card. */
export const TOOL: { name: string; version: string } = (() => {
  const pkg = JSON.parse(readFileSync(fromPackageRoot('package.json'), 'utf8')) as { name: string; version: string };
  return { name: pkg.name, version: pkg.version };
})();
