// The real validators from Debian's packages: cloud-init's schema check and netplan's generator.
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';

export interface ToolResult { exitCode: number | undefined; output: string }

export async function cloudInitSchema(userData: string): Promise<ToolResult> {
  const dir = await mkdtemp(join(tmpdir(), 'mcpi-ci-'));
  try {
    const file = join(dir, 'user-data');
    await writeFile(file, userData);
    const r = await execa('cloud-init', ['schema', '-c', file], { reject: false, all: true });
    return { exitCode: r.exitCode, output: r.all ?? '' };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Runs `netplan generate --root-dir` and returns what networkd would be given. */
export async function netplanGenerate(networkConfig: string): Promise<ToolResult & { networkd: Record<string, string> }> {
  const root = await mkdtemp(join(tmpdir(), 'mcpi-np-'));
  try {
    await mkdir(join(root, 'etc', 'netplan'), { recursive: true });
    const file = join(root, 'etc', 'netplan', '50-cloud-init.yaml');
    await writeFile(file, networkConfig);
    await chmod(file, 0o600);
    const r = await execa('netplan', ['generate', '--root-dir', root], { reject: false, all: true });
    const networkd: Record<string, string> = {};
    const outDir = join(root, 'run', 'systemd', 'network');
    for (const name of await readdir(outDir).catch(() => [] as string[]))
      networkd[name] = await readFile(join(outDir, name), 'utf8');
    return { exitCode: r.exitCode, output: r.all ?? '', networkd };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

/**
 * What cloud-init itself stores as cloud-config.txt for a user-data: the parsed YAML dumped again
 * with its own safeyaml.dumps (PyYAML: escapes, quotes and folds long lines at 80 columns).
 */
export async function cloudInitRedump(userData: string): Promise<string> {
  const r = await execa('/usr/bin/python3', ['-c',
    'import sys, yaml; from cloudinit import safeyaml; sys.stdout.write(safeyaml.dumps(yaml.safe_load(sys.stdin.read())))'],
  { input: userData });
  return r.stdout;
}

/** Parses YAML with PyYAML (what cloud-init reads its files with) and prints it back as JSON. */
export async function pyYamlToJson(text: string): Promise<unknown> {
  const r = await execa('/usr/bin/python3', ['-c', 'import sys, yaml, json; json.dump(yaml.safe_load(sys.stdin.read()), sys.stdout)'], { input: text });
  return JSON.parse(r.stdout) as unknown;
}
