#!/usr/bin/env node
import { run } from './run.js';

process.on('SIGINT', () => process.exit(130));
process.exitCode = await run(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (line) => process.stderr.write(`${line}\n`),
  env: process.env,
  isTTY: process.stderr.isTTY === true,
  write: (text) => process.stderr.write(text),
});
