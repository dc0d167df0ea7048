// The step journal: which steps finished, written atomically (temp file, fsync, rename) so a
// power cut leaves the old journal or the new one, never half of one.
import { open, readFile, rename } from 'node:fs/promises';
import { STEP_IDS, type StepId } from './types.js';

export interface Journal {
  version: 1;
  done: Partial<Record<StepId, string>>;
}

export const emptyJournal = (): Journal => ({ version: 1, done: {} });

/** A journal that cannot be read is treated as empty: every step probes the world anyway. */
export function parseJournal(text: string | undefined): { journal: Journal; corrupt: boolean } {
  if (text === undefined) return { journal: emptyJournal(), corrupt: false };
  try {
    const data = JSON.parse(text) as Journal;
    const valid = data?.version === 1 && typeof data.done === 'object' && data.done !== null
      && Object.keys(data.done).every((k) => (STEP_IDS as readonly string[]).includes(k));
    return valid ? { journal: data, corrupt: false } : { journal: emptyJournal(), corrupt: true };
  } catch {
    return { journal: emptyJournal(), corrupt: true };
  }
}

export class JournalStore {
  constructor(private readonly path: string) {}

  async load(): Promise<{ journal: Journal; corrupt: boolean }> {
    const text = await readFile(this.path, 'utf8').catch(() => undefined);
    const result = parseJournal(text);
    if (result.corrupt) await rename(this.path, `${this.path}.corrupt`).catch(() => undefined);
    return result;
  }

  async save(journal: Journal): Promise<void> {
    const partial = `${this.path}.partial`;
    const handle = await open(partial, 'w', 0o600);
    try {
      await handle.writeFile(`${JSON.stringify(journal, null, 2)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(partial, this.path);
  }
}
