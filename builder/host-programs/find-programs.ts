// Finds programs on a search path (the command runner's programSearchPath in production), and
// says which are missing before a job writes anything.
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { execa } from 'execa';
import { installCommands, type Need, type Program } from './programs.js';

export async function findProgram(name: string, path: string): Promise<string | undefined> {
  const dirs = path.split(delimiter).filter(Boolean);
  for (const dir of dirs) {
    const candidate = join(dir, name);
    if (await access(candidate, constants.X_OK).then(() => true, () => false)) return candidate;
  }
  return undefined;
}

export interface Found { readonly program: Program; readonly path?: string; readonly version?: string; readonly lacks?: readonly string[] }

/** Where the program is, its version line, and any option we use that it does not know. */
export async function inspectProgram(program: Program, path: string, options = { version: true }): Promise<Found> {
  const found = await findProgram(program.name, path);
  if (!found) return { program };
  let version: string | undefined;
  if (options.version) {
    const ran = await execa(found, [...program.versionArgs], { reject: false, all: true, timeout: 10_000 });
    version = String(ran.all ?? '').split('\n').map((l) => l.trim()).find(Boolean);
  }
  let lacks: string[] = [];
  if (program.mustSupport) {
    const help = await execa(found, ['--help'], { reject: false, all: true, timeout: 10_000 });
    lacks = program.mustSupport.filter((option) => !String(help.all ?? '').includes(option));
  }
  return { program, path: found, ...(version ? { version } : {}), ...(lacks.length ? { lacks } : {}) };
}

/** A job cannot start: programs are missing (or too limited). Nothing was written. */
export class MissingProgramsError extends Error {
  override name = 'MissingProgramsError';
  constructor(readonly missing: readonly { need: Need; found: Found }[]) {
    super([
      `${missing.length === 1 ? 'A program this job needs is' : 'Programs this job needs are'} missing; nothing was written:`,
      ...missing.map(({ need, found }) => `  ${need.program.name}${found.lacks ? ` (found ${found.path}, but it lacks ${found.lacks.join(', ')})` : ''}: `
        + `${need.program.purpose} (for ${need.jobs.join(', ')})`),
      'Install them with:',
      ...installCommands(missing.map((m) => m.need.program)).map((line) => `  ${line}`),
      'Then run the same command again. `build-image doctor` lists every program and its version.',
    ].join('\n'));
  }
}

export async function requirePrograms(needs: readonly Need[], path: string): Promise<void> {
  const inspected = await Promise.all(needs.map(async (need) => ({ need, found: await inspectProgram(need.program, path, { version: false }) })));
  const missing = inspected.filter(({ found }) => !found.path || found.lacks);
  if (missing.length) throw new MissingProgramsError(missing);
}
