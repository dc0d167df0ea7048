import { broadcastAddress, cidrContains, intToIpv4, isIPv4, isNetworkCidr, isReservedInSubnet, parseCidr, parseRange } from './ipv4.js';

describe('ipv4', () => {
  it.each(['10.0.0.1', '255.255.255.255', '0.0.0.0'])('accepts %s', (a) => expect(isIPv4(a)).toBe(true));
  it.each(['10.0.0', '10.0.0.256', '010.0.0.1', '10.0.0.1 ', 'a.b.c.d', '1.2.3.4.5'])('rejects %j', (a) => expect(isIPv4(a)).toBe(false));

  it('parses a CIDR and rejects a prefix over 32', () => {
    expect(parseCidr('10.0.0.0/24')).toEqual({ address: '10.0.0.0', prefix: 24 });
    expect(parseCidr('10.0.0.0/33')).toBeUndefined();
    expect(parseCidr('10.0.0.0')).toBeUndefined();
  });

  it('knows subnet membership at the edges', () => {
    const net = parseCidr('192.168.4.0/22')!;
    expect(cidrContains(net, '192.168.7.255')).toBe(true);
    expect(cidrContains(net, '192.168.8.0')).toBe(false);
    expect(intToIpv4(broadcastAddress(net))).toBe('192.168.7.255');
    expect(isReservedInSubnet(net, '192.168.4.0')).toBe(true);
    expect(isReservedInSubnet(parseCidr('10.0.0.0/31')!, '10.0.0.0')).toBe(false);
  });

  it('tells a network address from a host address', () => {
    expect(isNetworkCidr(parseCidr('10.0.0.0/24')!)).toBe(true);
    expect(isNetworkCidr(parseCidr('10.0.0.5/24')!)).toBe(false);
  });

  it('parses a range only of two addresses', () => {
    expect(parseRange('10.0.0.1-10.0.0.9')).toEqual({ start: '10.0.0.1', end: '10.0.0.9' });
    expect(parseRange('10.0.0.1-10.0.0')).toBeUndefined();
    expect(parseRange('10.0.0.1')).toBeUndefined();
  });
});
