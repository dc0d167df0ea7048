// The compressions an image can be written with, and their file name endings.
export type Compression = 'none' | 'xz' | 'zst';
export const COMPRESSIONS: readonly Compression[] = ['none', 'xz', 'zst'];
export const extensionOf = (c: Compression): string => (c === 'none' ? '' : `.${c}`);
