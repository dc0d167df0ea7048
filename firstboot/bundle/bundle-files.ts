// Where a bundle server's bytes come from. The server looks every name up in the listing first and
// opens only listed names; a source opens a name it is given and nothing else. One source here: a
// bundle folder (the operator's computer, a USB stick). A Pi may implement the same over
// /var/lib/snapd/snaps and `snap known`.
import { constants } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { BUNDLE_FILE, MAX_BUNDLE_FILE_BYTES, parseBundleManifest, type BundleManifest } from './bundle-manifest.js';

/** bundle.json: the bytes served as /bundle/bundle.json, and what they list. */
export interface BundleListing {
  readonly text: string;
  readonly manifest: BundleManifest;
}

/** One opened file. Exactly one of read() or close() is called; the stream read() returns closes the file when it ends or is destroyed. */
export interface OpenedBundleFile {
  /** Its size as opened (a .snap whose size is not the listed one is not served). */
  readonly size: number;
  /** Bytes start..end, both inclusive (end >= start; a 0-byte file is never read). */
  read(start: number, end: number): Readable;
  close(): Promise<void>;
}

export interface Have { readonly whole: readonly string[]; readonly arriving: readonly string[] }

export interface BundleFiles {
  /** bundle.json, parsed (BundleFormatError when it is not one); may be read again for every request. */
  listing(): Promise<BundleListing>;
  /** A listed file by its listed name (never bundle.json); undefined when it is not there. */
  open(file: string): Promise<OpenedBundleFile | undefined>;
  /** The listed names this source can send now, whole or still arriving (files-in-flight.ts): askers ask only those who have a file. */
  have(manifest: BundleManifest): Promise<Have>;
}

/** A name that stays in its folder: no separator of any OS, not . or .., nothing a shell or Windows treats specially. */
export const isPlainFileName = (name: string): boolean => /^[A-Za-z0-9][A-Za-z0-9._+-]*$/.test(name) && !name.includes('..');

/**
 * How a listed file is opened: never through a symbolic link (a folder copied from elsewhere, a
 * USB stick, could point a listed name at /var/lib/microcloud-pi/node.key), and never waiting on a
 * FIFO or device (O_NONBLOCK: the stat below then refuses what is not a regular file). Windows has
 * neither flag (0): `build-image serve` there serves the folder as it is.
 */
export const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0);

/** A bundle folder as build-image snaps writes it. */
export function folderBundleFiles(dir: string): BundleFiles {
  return {
    async listing() {
      // As the listed files: not through a link, not from a FIFO (ELOOP, ENXIO or "not a file" are errors: no listing).
      const handle = await open(join(dir, BUNDLE_FILE), OPEN_FLAGS);
      const text = await (async () => {
        try {
          const facts = await handle.stat();
          if (!facts.isFile()) throw new Error(`${BUNDLE_FILE} is not a regular file`);
          // Read whole on every request: a huge one (a stick's, say) must not fill the memory of a Pi serving it.
          if (facts.size > MAX_BUNDLE_FILE_BYTES) throw new Error(`${BUNDLE_FILE} is ${facts.size} bytes, over the ${MAX_BUNDLE_FILE_BYTES} a listing can be`);
          return await handle.readFile('utf8');
        } finally {
          await handle.close();
        }
      })();
      return { text, manifest: parseBundleManifest(text) };
    },
    async open(file) {
      if (!isPlainFileName(file) || file === BUNDLE_FILE) return undefined; // the server never asks; a second guard all the same
      let handle: FileHandle;
      try {
        handle = await open(join(dir, file), OPEN_FLAGS);
      } catch (error) {
        // ELOOP: a symbolic link (O_NOFOLLOW). Not here, as far as a node asking is concerned: it tries another source.
        if (['ENOENT', 'ENOTDIR', 'EISDIR', 'ELOOP', 'ENXIO'].includes((error as NodeJS.ErrnoException).code ?? '')) return undefined;
        throw error;
      }
      const facts = await handle.stat().catch(async (error: unknown) => { await handle.close(); throw error; });
      if (!facts.isFile()) {
        await handle.close();
        return undefined;
      }
      return {
        size: facts.size,
        // Read from the handle opened above: a bundle replaced meanwhile cannot mix two files' bytes into one answer.
        read: (start, end) => handle.createReadStream({ start, end, autoClose: true }),
        close: () => handle.close(),
      };
    },
    have: async (manifest) => ({ whole: await wholeFiles(dir, manifest), arriving: [] }),
  };
}

/** The listed files in `dir` that are there whole: an .assert that is a file, a .snap of its listed size. */
export async function wholeFiles(dir: string, manifest: BundleManifest): Promise<string[]> {
  const sizeOf = (name: string) => stat(join(dir, name)).then((s) => (s.isFile() ? s.size : undefined), () => undefined);
  const found = await Promise.all(manifest.snaps.map(async (snap) => [
    ...(await sizeOf(snap.assert)) !== undefined ? [snap.assert] : [],
    ...(await sizeOf(snap.file)) === snap.size ? [snap.file] : [],
  ]));
  return found.flat();
}
