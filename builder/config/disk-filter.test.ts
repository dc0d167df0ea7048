import { diskMatches, parseByteSize, parseDiskFilter, type DiskFacts } from './disk-filter.js';

describe('parseDiskFilter accepts what MicroCloud (LXD shared/filter) accepts', () => {
  it.each([
    ['type == usb', [{ join: '&&', not: false, field: 'type', op: '==', value: 'usb' }]],
    ['size >= 100GiB && mounted == false', [
      { join: '&&', not: false, field: 'size', op: '>=', value: '100GiB' },
      { join: '&&', not: false, field: 'mounted', op: '==', value: 'false' }]],
    ['! removable == true || rpm > 0', [
      { join: '&&', not: true, field: 'removable', op: '==', value: 'true' },
      { join: '||', not: false, field: 'rpm', op: '>', value: '0' }]],
    // Upstream's own test filter: a string comparison is a regular expression.
    ['device_id == *lxd_disk1', [{ join: '&&', not: false, field: 'device_id', op: '==', value: '*lxd_disk1' }]],
    // A quoted value runs over several words, as LXD joins them.
    ['model == "Samsung SSD T7" && size < 2TB', [
      { join: '&&', not: false, field: 'model', op: '==', value: 'Samsung SSD T7' },
      { join: '&&', not: false, field: 'size', op: '<', value: '2TB' }]],
    ["  serial != 'ABC  123'  ", [{ join: '&&', not: false, field: 'serial', op: '!=', value: 'ABC 123' }]],
  ])('%s', (text, clauses) => {
    const parsed = parseDiskFilter(text);
    expect(parsed).toMatchObject({ ok: true, clauses });
  });

  it('warns that || before && is read left to right, not by precedence', () => {
    const parsed = parseDiskFilter('type == usb || type == nvme && size > 1TB');
    expect(parsed.ok && parsed.warnings[0]?.message).toMatch(/strictly left to right/);
    const plain = parseDiskFilter('type == usb && size > 1TB || type == nvme');
    expect(plain.ok && plain.warnings).toEqual([]);
  });
});

describe('parseDiskFilter refuses what would fail on the Pi', () => {
  it.each([
    ['', /is empty/],
    ['typ == usb', /"typ", which is not a disk field/],
    ['partitions == []', /"partitions", which is not a disk field/],
    ['type = usb', /"=" where a comparison belongs/],
    ['type == usb and size > 1TB', /"and" after the clause/],
    ['type ==', /ends after "type =="/],
    ['type', /ends after the field "type"/],
    ['!', /ends with "!"/],
    ['!mounted == true', /Put spaces.*"! mounted"/],
    ['size>=100GiB', /Put spaces.*"size >= 100GiB"/],
    ['(type == usb)', /parenthesis/],
    ['size > 100 GiB', /"GiB" after the clause/],
    ['size > 100gib', /not a size MicroCloud understands/],
    ['size > -1', /not a size/],
    ['numa_node == 0x1', /needs a whole number/],
    ['mounted == no', /not true or false/],
    ['read_only >= true', /true\/false field read_only with >=/],
    ["model == 'Samsung'", /quotes the single word/],
    ['model == "Samsung SSD', /never closed/],
  ])('%j', (text, message) => {
    const parsed = parseDiskFilter(text);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) {
      expect(`${parsed.mistake.message}. ${parsed.mistake.hint}`).toMatch(message);
      expect(parsed.mistake.hint).toMatch(/\S.*[.?]$/);
    }
  });
});

describe('parseByteSize follows LXD units.ParseByteSizeString', () => {
  it.each([
    ['512', 512], ['512B', 512], ['1kB', 1000], ['2MB', 2e6], ['100GiB', 100 * 2 ** 30], ['1TB', 1e12], ['3TiB', 3 * 2 ** 40],
  ])('%s is %d bytes', (text, bytes) => expect(parseByteSize(text)).toBe(bytes));

  it.each(['1.5TB', '1 TB', 'TB', '100gb', '1KB', '-5'])('refuses %j', (text) => expect(parseByteSize(text)).toBeUndefined());
});

describe('diskMatches', () => {
  const usb = { id: 'sda', type: 'usb', size: 128 * 2 ** 30, removable: false, mounted: false, model: 'Samsung SSD', rpm: 0 };
  const sd = { id: 'mmcblk0', type: 'mmc', size: 32 * 2 ** 30, removable: true, mounted: true, model: 'SD32G', rpm: 0 };
  const match = (filter: string, disk: DiskFacts) => {
    const parsed = parseDiskFilter(filter);
    if (!parsed.ok) throw new Error(parsed.mistake.message);
    return diskMatches(parsed.clauses, disk);
  };
  it.each([
    ['type == usb', true, false],
    ['type == usb && size > 100GiB', true, false],
    ['size >= 32GiB && size <= 32GiB', false, true],
    ['! mounted == true', true, false],
    ['removable == false && mounted == false', true, false],
    ["model == 'Samsung SSD'", true, false],
    ['type == mmc || type == usb && size > 100GiB', true, false], // (mmc || usb) && > 100GiB
    ['type == nvme || type == usb', true, false],
    ['rpm == 0 && type != usb', false, true],
  ])('%s: usb disk %s, SD card %s', (filter, onUsb, onSd) => {
    expect([match(filter, usb), match(filter, sd)]).toEqual([onUsb, onSd]);
  });
});
