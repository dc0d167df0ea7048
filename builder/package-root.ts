// Where the installed package lives: templates/, images/ and dist/ are found from here, both
// when running the TypeScript sources and the compiled dist/.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

export function packageRoot(): string {
  if (root) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'microcloud-pi') break;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`microcloud-pi's package.json not found above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
  root = dir;
  return root;
}

export const fromPackageRoot = (...parts: string[]): string => join(packageRoot(), ...parts);
