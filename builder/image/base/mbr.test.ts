import { MbrError, parseMbr, withPartitionSectors } from './mbr.js';

function sector(entries: [type: number, start: number, sectors: number][]): Uint8Array {
  const s = new Uint8Array(512);
  const view = new DataView(s.buffer);
  entries.forEach(([type, start, sectors], i) => {
    view.setUint8(446 + i * 16 + 4, type);
    view.setUint32(446 + i * 16 + 8, start, true);
    view.setUint32(446 + i * 16 + 12, sectors, true);
  });
  view.setUint16(510, 0xaa55, true);
  return s;
}

describe('MBR', () => {
  it('lists the used entries with their sectors', () => {
    expect(parseMbr(sector([[0x0c, 2048, 1048576], [0x83, 1050624, 7000000]]))).toEqual([
      { number: 1, type: 0x0c, startSector: 2048, sectors: 1048576 },
      { number: 2, type: 0x83, startSector: 1050624, sectors: 7000000 },
    ]);
  });

  it('refuses a sector without the boot signature, and GPT', () => {
    expect(() => parseMbr(new Uint8Array(512))).toThrow(MbrError);
    expect(() => parseMbr(sector([[0xee, 1, 100]]))).toThrow(/GPT/);
  });

  it('changes only the length of the patched entry', () => {
    const before = sector([[0x0c, 2048, 100], [0x83, 2148, 200]]);
    const after = withPartitionSectors(before, 2, 999);
    expect(parseMbr(after)[1]!.sectors).toBe(999);
    expect(parseMbr(after)[0]).toEqual(parseMbr(before)[0]);
    expect(parseMbr(before)[1]!.sectors).toBe(200); // the input is not mutated
  });
});
