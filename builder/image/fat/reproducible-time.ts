/** Every timestamp we write into an image: 2000-01-01T00:00:00Z, so equal inputs give equal bytes. */
export const REPRODUCIBLE_TIME = 946684800;
