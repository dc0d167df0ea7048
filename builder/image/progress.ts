/** One report of long work; only the CLI draws it. */
export interface Progress {
  readonly step: 'download' | 'flash';
  readonly label: string;
  readonly bytes: number;
  readonly total?: number;
  readonly bytesPerSecond: number;
  readonly done: boolean;
}
export type OnProgress = (progress: Progress) => void;
