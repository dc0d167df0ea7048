// The release build: every node's image of one cluster, compressed, into one folder with
// SHA256SUMS, manifest.json and a Raspberry Pi Imager repository file. Runs the same on a
// laptop and in CI (.github/workflows/release.yml only calls this).
//
//   npm run release -- --config cluster.yaml --out release/ [--image ID | --base-image FILE]
//                      [--url-base https://host/path/] [--release-date YYYY-MM-DD]
// Secrets come from the environment, never from arguments or files in the repo:
//   MICROCLOUD_PI_PASSPHRASE    the cluster's join passphrase (required: releases must rebuild alike)
//   MICROCLOUD_PI_OPERATOR_KEY  the secrets file's operator_key, which signs each card's join ticket
//                               (without it the release's cards carry none: it warns)
//   MICROCLOUD_PI_SSH_KEYS      admin SSH public keys, one per line (optional; replaces admin.ssh_keys)
// MICROCLOUD_PI_TICKET_TIME (optional) fixes the tickets' issue time, for a release rebuilt to the same bytes.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseDocument } from 'yaml';
import { run } from '../builder/cli/run.js';
import { exitCleanlyOnSignals, tempPrefix } from '../builder/output/leftovers.js';
import type { Manifest } from '../builder/image/write/release-files.js';
import { imagerRepository } from '../builder/release/imager-json.js';

export async function release(argv: readonly string[], env: Readonly<Record<string, string | undefined>>,
  io: { stdout: (t: string) => void; stderr: (l: string) => void }, extraArgs: readonly string[] = []): Promise<number> {
  const { values } = parseArgs({ args: [...argv], strict: true, options: {
    config: { type: 'string' }, out: { type: 'string' }, image: { type: 'string' }, 'base-image': { type: 'string' },
    'url-base': { type: 'string' }, 'release-date': { type: 'string' }, cache: { type: 'string' },
  } });
  if (!values.config || !values.out) {
    io.stderr('release: --config FILE and --out DIR are required');
    return 2;
  }
  if (!env.MICROCLOUD_PI_PASSPHRASE) {
    io.stderr('release: set MICROCLOUD_PI_PASSPHRASE (the cluster\'s join passphrase) in the environment');
    return 2;
  }
  // A workflow gives an unset secret as an empty string: that is no key, not a broken one.
  const operatorKey = env.MICROCLOUD_PI_OPERATOR_KEY?.trim() ? env.MICROCLOUD_PI_OPERATOR_KEY : undefined;
  if (!operatorKey)
    io.stderr('release: warning: MICROCLOUD_PI_OPERATOR_KEY is not set: these release cards carry no join ticket, and members '
      + 'built from them check none, so any one of these images can add a machine to the cluster under any name. Set it to the '
      + 'operator_key of the cluster\'s secrets file (a secret of the release workflow).');
  // Published images carry the join passphrase until first boot: with grow on, holding one is enough to add a machine.
  if (values['url-base'] && parseDocument(await readFile(values.config, 'utf8')).getIn(['microcloud', 'grow']) !== false)
    io.stderr('release: warning: these images are to be published, and microcloud.grow is on: anyone holding one can add a '
      + 'machine on the cluster network to the cluster. Set microcloud.grow: false in the cluster file for published releases.');
  // Keys from the environment go into a private copy of the cluster file, validated as usual.
  const work = await mkdtemp(tempPrefix('release')); // holds the keys: removed on a signal too
  try {
    let config = values.config;
    if (env.MICROCLOUD_PI_SSH_KEYS) {
      const doc = parseDocument(await readFile(values.config, 'utf8'));
      doc.setIn(['admin', 'ssh_keys'], env.MICROCLOUD_PI_SSH_KEYS.split('\n').map((k) => k.trim()).filter(Boolean));
      config = join(work, basename(values.config));
      await writeFile(config, doc.toString(), { mode: 0o600 });
    }
    const base = values['base-image'] ? ['--base-image', values['base-image']] : values.image ? ['--image', values.image] : [];
    const code = await run(['--config', config, '--all', '--compress', 'xz', '--out', values.out, ...base,
      ...(values.cache ? ['--cache', values.cache] : []), ...extraArgs],
    { stdout: () => {}, stderr: io.stderr, env: { ...env, MICROCLOUD_PI_OPERATOR_KEY: operatorKey } });
    if (code !== 0) return code;
    const manifest = JSON.parse(await readFile(join(values.out, 'manifest.json'), 'utf8')) as Manifest;
    const releaseDate = values['release-date'] ?? new Date().toISOString().slice(0, 10);
    const imager = imagerRepository(manifest, { urlBase: values['url-base'] ?? '', releaseDate });
    await writeFile(join(values.out, 'imager.json'), `${JSON.stringify(imager, null, 2)}\n`);
    io.stdout(`${values.out}\n`);
    return 0;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  exitCleanlyOnSignals((line) => process.stderr.write(`\nrelease: ${line}\n`));
  process.exitCode = await release(process.argv.slice(2), process.env, {
    stdout: (t) => process.stdout.write(t), stderr: (l) => process.stderr.write(`${l}\n`),
  });
}
