#!/usr/bin/env node
import { exitCleanlyOnSignals } from '../output/leftovers.js';
import { run } from './run.js';

exitCleanlyOnSignals((line) => process.stderr.write(`\nbuild-image: ${line}\n`));
process.exitCode = await run(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (line) => process.stderr.write(`${line}\n`),
  env: process.env,
  isTTY: process.stderr.isTTY === true,
  write: (text) => process.stderr.write(text),
  ...(process.stdin.isTTY ? {
    confirm: async (question: string) => {
      const { createInterface } = await import('node:readline/promises');
      const rl = createInterface({ input: process.stdin, output: process.stderr });
      try { return await rl.question(question); } finally { rl.close(); }
    },
  } : {}),
});
