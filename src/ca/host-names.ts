/**
 * The names a host certificate lists and the `@cert-authority` line cameras pin. ssh checks the name the
 * camera connects to (host name or address, as typed) against the certificate's principals, so the
 * certificate must list every one the cameras use. Pure.
 */
import { hostPattern } from '../camera/known-hosts.js';

export interface Iface {
  address: string;
  family: string | number;
  internal: boolean;
}

/** "0.0.0.0:22", "[::]:22", "192.168.1.5:22" from `sshd -T` listenaddress → the address. */
export function listenHost(value: string): string {
  const v6 = /^\[(.*)\](?::\d+)?$/.exec(value.trim());
  if (v6) return v6[1]!;
  return value.trim().replace(/:\d+$/, '');
}

const WILDCARD = new Set(['0.0.0.0', '::', '']);

/**
 * Default principals: the host name, NAME.local (mDNS, what a Pi answers to), and the addresses sshd
 * listens on; a wildcard listener stands for every address of the machine except loopback and IPv6
 * link-local ones (those need a %zone no camera types).
 */
export function defaultHostNames(hostname: string, listen: string[], ifaces: Iface[]): string[] {
  const names: string[] = [];
  const add = (n: string) => {
    const v = n.toLowerCase();
    if (v && !names.includes(v)) names.push(v);
  };
  const host = hostname.trim().replace(/\.$/, '');
  if (host && host !== 'localhost') {
    add(host);
    if (!host.includes('.')) add(`${host}.local`);
  }
  const hosts = listen.map(listenHost);
  const everything = hosts.length === 0 || hosts.some((h) => WILDCARD.has(h));
  const usable = (a: string) => !/^fe80:/i.test(a) && !a.startsWith('127.') && a !== '::1';
  if (everything) {
    for (const i of ifaces) if (!i.internal && usable(i.address)) add(i.address);
  }
  for (const h of hosts) if (!WILDCARD.has(h) && usable(h)) add(h);
  return names;
}

/** `@cert-authority NAMES KEY`: the known_hosts line that trusts the host CA for these names. */
export function certAuthorityLine(names: string[], port: number, caPublicLine: string): string {
  const [type, base64] = caPublicLine.trim().split(/\s+/);
  return `@cert-authority ${names.map((n) => hostPattern(n, port)).join(',')} ${type} ${base64}`;
}
