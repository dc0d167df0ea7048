// build-image doctor: every program the builder can drive, found or not, with its version and
// the jobs that need it. Exit 0 when all are there, 7 when any is missing.
import { inspectProgram } from '../../host-programs/find-programs.js';
import { installCommands, jobsUsing, PROGRAMS } from '../../host-programs/programs.js';
import { UsageError } from '../errors.js';
import type { CliIo, RunDeps } from '../io.js';
import { EXIT } from '../report-error.js';

export async function doctorCommand(argv: readonly string[], io: CliIo, deps: Pick<RunDeps, 'programPath'>): Promise<number> {
  const unknown = argv.filter((a) => a !== '--json' && a !== '--debug');
  if (unknown.length) throw new UsageError(`doctor takes no ${unknown.join(' ')}. Usage: build-image doctor [--json]`);
  const found = await Promise.all(PROGRAMS.map((p) => inspectProgram(p, deps.programPath)));
  const rows = found.map((f) => ({
    program: f.program.name, found: !!f.path && !f.lacks, path: f.path ?? null, version: f.version ?? null,
    ...(f.lacks ? { lacks: f.lacks } : {}), neededFor: jobsUsing(f.program.name),
  }));
  const missing = found.filter((f) => !f.path || f.lacks);
  io.stderr('The image build runs in Node alone (FAT edit, OpenPGP check, runtime fetch, copy and hash): these programs '
    + 'are needed only for the jobs named beside them.');
  if (argv.includes('--json')) io.stdout(`${JSON.stringify({ programs: rows }, null, 2)}\n`);
  else {
    const width = Math.max(...rows.map((r) => r.program.length));
    for (const r of rows) io.stdout(`${r.program.padEnd(width)}  ${r.found ? (r.version ?? r.path) : r.lacks ? `lacks ${r.lacks.join(', ')}` : 'MISSING'}  (${r.neededFor.join(', ')})\n`);
  }
  if (missing.length === 0) {
    io.stderr('Every program is there.');
    return 0;
  }
  io.stderr(`${missing.length} missing. Install with:`);
  for (const line of installCommands(missing.map((m) => m.program))) io.stderr(`  ${line}`);
  return EXIT.programs;
}
