// What a command may touch: its output streams and environment, and the outside world it
// reaches (replaceable in tests).
import type { PeerStatusReader } from '../../firstboot/run/types.js';
import type { DeviceProbe } from '../flash/device-facts.js';
import type { OnProgress } from '../image/progress.js';
import { progressReporter } from './progress-bar.js';

export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (line: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Progress bars are drawn in place only on a terminal. */
  readonly isTTY?: boolean;
  readonly write?: (text: string) => void;
  /** Asks the user a question on a terminal; absent when there is none. */
  readonly confirm?: (question: string) => Promise<string>;
}

export interface RunDeps {
  readonly readPeer: PeerStatusReader;
  readonly probe: DeviceProbe;
  readonly beforeReadBack?: () => Promise<void>;
  /** Where jobs look for the programs they drive (PATH plus sbin). */
  readonly programPath: string;
  /** The pause between looks of `status --watch`, and its clock (replaced in tests). */
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => number;
  /** The system `doctor` speaks for (process.platform; replaced in tests). */
  readonly platform?: NodeJS.Platform;
}

export const progressFor = (io: CliIo): OnProgress =>
  progressReporter({ isTTY: io.isTTY ?? false, write: io.write ?? ((t) => io.stderr(t.replace(/\n$/, ''))) });
