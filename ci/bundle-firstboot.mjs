// Bundles the first-boot service into one ESM file for the Pi (run by the pinned node runtime).
import { build } from 'esbuild';

await build({
  entryPoints: ['firstboot/main.ts'],
  outfile: 'dist/firstboot/firstboot.mjs',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node22',
  legalComments: 'none',
  // Some bundled CommonJS code calls require(); give the ESM bundle one.
  banner: { js: "import { createRequire as __mcpiCreateRequire } from 'node:module'; const require = __mcpiCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});
