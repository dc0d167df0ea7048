// build-image doctor: every program the builder can drive, found or not, with its version and
// the jobs that need it, and which compressor `--compress xz` uses here. Exit 0 when every
// program this machine's jobs need is there, 7 when any is missing.
import { inspectProgram, type Found } from '../../host-programs/find-programs.js';
import { installCommands, jobsUsing, PROGRAMS, usedOn } from '../../host-programs/programs.js';
import type { XzCompressor } from '../../image/codecs.js';
import { chooseXzEncoder, LZMA_NATIVE_SPEED, type XzChoice } from '../../image/xz-libraries.js';
import { UsageError } from '../errors.js';
import type { CliIo, RunDeps } from '../io.js';
import { optionErrorMessage } from '../option-errors.js';
import { EXIT } from '../report-error.js';

/** Why a found-or-not program does or does not matter on this machine. Pure. */
export function programVerdict(f: Found, platform: NodeJS.Platform, xz: XzCompressor): { needed: boolean; note?: string } {
  if (!usedOn(f.program, platform))
    return { needed: false, note: `not used on ${platform === 'darwin' ? 'macOS' : platform}: flash writes cards on Linux only; `
      + 'there, use Raspberry Pi Imager or balenaEtcher, and diskutil list to see the disks' };
  if (f.program.name === 'xz' && xz !== 'xz program')
    return { needed: false, note: `not needed here: ${xz} compresses xz in process` };
  return { needed: true };
}

/** Which compressor `--compress xz` uses on this machine, and why not a faster one, in one line. Pure. */
export function compressorLine({ encoder, passedOver }: XzChoice): string {
  const not = passedOver.map((p) => ` Not ${p.library}: ${p.reason}.`).join('');
  if (encoder?.library === 'node-liblzma')
    return `xz compression: node-liblzma (liblzma ${encoder.liblzma} in process; the xz program is not needed).`;
  if (encoder) return `xz compression: lzma-native (liblzma ${encoder.liblzma} in process, ${LZMA_NATIVE_SPEED}; the xz program is not needed).${not}`;
  return `xz compression: the xz program (the same bytes).${not}`;
}

export async function doctorCommand(argv: readonly string[], io: CliIo, deps: Pick<RunDeps, 'programPath' | 'platform'>): Promise<number> {
  const unknown = argv.filter((a) => a !== '--json' && a !== '--debug');
  if (unknown.length) {
    const error = { code: 'ERR_PARSE_ARGS_UNKNOWN_OPTION', message: `Unknown option '${unknown[0]}'` };
    throw new UsageError(unknown[0]!.startsWith('-') ? optionErrorMessage(error, ['json', 'debug'], 'Usage: build-image doctor [--json]')
      : `doctor takes no ${unknown.join(' ')}. Usage: build-image doctor [--json]`);
  }
  const platform = deps.platform ?? process.platform;
  const choice = await chooseXzEncoder();
  const xz = choice.encoder?.library ?? 'xz program';
  const found = await Promise.all(PROGRAMS.map((p) => inspectProgram(p, deps.programPath)));
  const rows = found.map((f) => {
    const verdict = programVerdict(f, platform, xz);
    return {
      program: f.program.name, found: !!f.path && !f.lacks, path: f.path ?? null, version: f.version ?? null,
      ...(f.lacks ? { lacks: f.lacks } : {}), neededFor: jobsUsing(f.program.name), neededHere: verdict.needed,
      ...(verdict.note ? { note: verdict.note } : {}),
    };
  });
  const missing = found.filter((f, i) => (!f.path || f.lacks) && rows[i]!.neededHere);
  io.stderr('The image build runs in Node alone (FAT edit, OpenPGP check, runtime fetch, copy and hash): these programs '
    + 'are needed only for the jobs named beside them.');
  if (argv.includes('--json'))
    io.stdout(`${JSON.stringify({ programs: rows, compressors: { xz, zst: 'zstd-wasm' },
      ...(choice.encoder ? { liblzma: choice.encoder.liblzma } : {}), xzPassedOver: choice.passedOver }, null, 2)}\n`);
  else {
    const width = Math.max(...rows.map((r) => r.program.length));
    for (const r of rows) {
      const state = r.found ? (r.version ?? r.path) : r.lacks ? `lacks ${r.lacks.join(', ')}` : r.neededHere ? 'MISSING' : 'not found';
      io.stdout(`${r.program.padEnd(width)}  ${state}  (${r.neededFor.join(', ')}${r.note ? `; ${r.note}` : ''})\n`);
    }
    io.stdout(`${compressorLine(choice)}\n`);
  }
  if (missing.length === 0) {
    io.stderr('Every program this machine needs is there.');
    return 0;
  }
  io.stderr(`${missing.length} missing. Install with:`);
  for (const line of installCommands(missing.map((m) => m.program))) io.stderr(`  ${line}`);
  return EXIT.programs;
}
