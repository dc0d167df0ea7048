// The shipped catalog of base images: every entry loads, and each kind is complete.
import { access, constants, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { defaultCatalogPath, isDownloadable, loadCatalog } from '../builder/image/base/catalog.js';
import { fromPackageRoot } from '../builder/package-root.js';
import { tempDir } from './helpers/temp-dir.js';

describe('images/catalog.json', () => {
  it('lists downloadable Ubuntu images and the boot test stand-in, whose build script exists', async () => {
    const { images, default: fallback } = await loadCatalog(defaultCatalogPath());
    expect(images.find((e) => e.id === fallback)).toMatchObject({ architecture: 'arm64', test: false });
    for (const entry of images) {
      if (isDownloadable(entry)) {
        expect(entry.test).toBe(false);
        await access(entry.signingKey, constants.R_OK);
      } else {
        expect(entry.test).toBe(true);
        await access(fromPackageRoot(entry.builtBy), constants.X_OK);
      }
    }
    expect(images.filter((e) => !isDownloadable(e)).map((e) => e.architecture)).toEqual(['amd64', 'arm64']);
  });

  it.each([
    ['a local image not marked as a test', { builtBy: 'x.sh' }],
    ['an entry that is both', { builtBy: 'x.sh', test: true, directory: 'https://example.invalid/', filePattern: 'x', checksums: 'S', signature: 'S.gpg', signingKey: 'k' }],
    ['an unknown architecture', { builtBy: 'x.sh', test: true, architecture: 'riscv64' }],
  ])('refuses %s', async (_, fields) => {
    const path = join(await tempDir('mcpi-catalog-'), 'catalog.json');
    await writeFile(path, JSON.stringify({ images: [{ id: 'x', name: 'x', architecture: 'amd64', labels: { boot: 'b', root: 'r' }, ...fields }] }));
    await expect(loadCatalog(path)).rejects.toThrow(/not a valid catalog/);
  });
});
