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
