import { promises as dns } from 'node:dns';
import { BlockList, isIP } from 'node:net';

import { AppError, invalidArgument } from '@castplane/errors';

/** Parsed allow list: host names, single addresses and CIDR ranges, and whether it contains `*`. */
export interface HostList {
  /** True when the list contains `*`. */
  any: boolean;
  /** Lower-case host names without a trailing dot. */
  names: ReadonlySet<string>;
  /** IP addresses and CIDR ranges, IPv4 and IPv6. */
  addresses: BlockList;
  /** Number of entries other than `*`. */
  size: number;
}

/** Outbound URL policy of one service. */
export interface OutboundPolicy {
  /** The operator's allow list. An empty list applies only the default ranges. */
  allowList: HostList;
  /** Hosts that are always allowed, such as the service's own media server, without restricting others. */
  alwaysAllowed?: HostList;
  /** Name of the environment variable that sets `allowList`, shown in errors as the fix. */
  setting?: string;
}

export interface ResolvedAddress {
  address: string;
  family: number;
}

/** Resolves a host name to every address, like `dns.promises.lookup(host, {all: true})`. */
export type LookupFunction = (host: string) => Promise<ResolvedAddress[]>;

export interface CheckOutboundOptions {
  /** Request field that carries the URL, such as `body.source`, named in the error details. */
  field: string;
  lookup?: LookupFunction;
  /** Time allowed for name resolution before the check fails with 503. */
  lookupTimeoutMs?: number;
}

// Ranges rejected by default. A listed host, address or range, or `*`, allows them.
const BLOCKED_RANGES: Array<[string, number, 'ipv4' | 'ipv6', string]> = [
  ['0.0.0.0', 8, 'ipv4', 'an unspecified'],
  ['127.0.0.0', 8, 'ipv4', 'a loopback'],
  ['224.0.0.0', 4, 'ipv4', 'a multicast'],
  ['240.0.0.0', 4, 'ipv4', 'a reserved or broadcast'],
  ['::', 128, 'ipv6', 'an unspecified'],
  ['::1', 128, 'ipv6', 'a loopback'],
  ['ff00::', 8, 'ipv6', 'a multicast'],
];

// Link-local ranges contain the cloud metadata endpoint 169.254.169.254 (AWS, GCP, Azure), and
// two metadata endpoints sit in ranges that are otherwise allowed: AWS's IPv6 fd00:ec2::254 and
// Alibaba Cloud's 100.100.100.200. `*` does not allow these, but a listed address or range does.
const METADATA_RANGES: Array<[string, number, 'ipv4' | 'ipv6']> = [
  ['169.254.0.0', 16, 'ipv4'],
  ['fe80::', 10, 'ipv6'],
  ['fd00:ec2::254', 128, 'ipv6'],
  ['100.100.100.200', 32, 'ipv4'],
];

const HOST_NAME = /^[a-z0-9_]([a-z0-9_-]{0,62})(\.[a-z0-9_]([a-z0-9_-]{0,62}))*$/;

/**
 * Parses a comma-separated list of host names, IP addresses, CIDR ranges (IPv4 and IPv6) and `*`.
 * Throws an `Error` naming the first invalid entry, so config validation can report it.
 */
export function parseHostList(value?: string): HostList {
  const list: HostList = { any: false, names: new Set<string>(), addresses: new BlockList(), size: 0 };
  const names = list.names as Set<string>;
  for (const raw of (value ?? '').split(',')) {
    const entry = raw.trim().toLowerCase();
    if (entry === '') continue;
    if (entry === '*') {
      list.any = true;
      continue;
    }
    addEntry(list, names, entry);
    list.size += 1;
  }
  return list;
}

function addEntry(list: HostList, names: Set<string>, entry: string): void {
  const slash = entry.indexOf('/');
  if (slash >= 0) {
    const address = unbracket(entry.slice(0, slash));
    const prefix = entry.slice(slash + 1);
    const family = isIP(address);
    const maxPrefix = family === 4 ? 32 : 128;
    if (family === 0 || !/^\d{1,3}$/.test(prefix) || Number(prefix) > maxPrefix) {
      throw new Error(`invalid CIDR range "${entry}": expected an address, "/" and a prefix length of 0-${family === 4 ? 32 : 128}`);
    }
    list.addresses.addSubnet(address, Number(prefix), familyName(family));
    return;
  }
  const address = unbracket(entry);
  const family = isIP(address);
  if (family !== 0) {
    list.addresses.addAddress(address, familyName(family));
    return;
  }
  const name = entry.replace(/\.$/, '');
  if (!HOST_NAME.test(name) || name.length > 253) {
    throw new Error(`invalid host "${entry}": expected a host name, an IP address, a CIDR range or "*"`);
  }
  names.add(name);
}

/**
 * Checks that a URL's host may be reached from this service. IP literals are checked as they are,
 * and a name is resolved so that every one of its addresses must pass.
 * Throws `invalid_argument` (400) naming `options.field` when the host is not allowed or does not
 * resolve, and `unavailable` (503) when resolution fails for another reason or times out. The
 * error carries the host only, never the URL, which can contain credentials or stream keys.
 */
export async function checkOutboundUrl(url: string, policy: OutboundPolicy, options: CheckOutboundOptions): Promise<void> {
  const host = hostOf(url, options.field);
  const addresses = await resolveHost(host, options);
  for (const address of addresses) {
    const reason = rejectionReason(host, address, policy);
    if (reason) throw rejected(host, reason, policy, options.field);
  }
}

function hostOf(url: string, field: string): string {
  let hostname: string;
  try {
    hostname = new URL(url).hostname;
  } catch {
    throw invalidArgument('the URL is invalid', [{ field, message: 'must be a valid URL' }]);
  }
  const host = unbracket(hostname.toLowerCase()).replace(/\.$/, '');
  if (host === '') throw invalidArgument('the URL has no host', [{ field, message: 'must name a host' }]);
  return host;
}

async function resolveHost(host: string, options: CheckOutboundOptions): Promise<ResolvedAddress[]> {
  const family = isIP(host);
  if (family !== 0) return [{ address: host, family }];
  const lookup = options.lookup ?? ((name: string) => dns.lookup(name, { all: true }));
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('lookup timed out')), options.lookupTimeoutMs ?? 5000);
  });
  try {
    const addresses = await Promise.race([lookup(host), timeout]);
    if (addresses.length === 0) throw Object.assign(new Error('no addresses'), { code: 'ENOTFOUND' });
    return addresses;
  } catch (error) {
    throw lookupFailed(host, error, options.field);
  } finally {
    clearTimeout(timer);
  }
}

function lookupFailed(host: string, error: unknown, field: string): AppError {
  const code = (error as { code?: string }).code;
  if (code === 'ENOTFOUND' || code === 'ENODATA') {
    return invalidArgument(`host ${host} could not be resolved`, [{ field, message: `host ${host} does not resolve to an address` }]);
  }
  return new AppError('unavailable', `resolving host ${host} failed or timed out. Try again later.`, {
    details: [{ field, message: `resolving host ${host} failed` }],
  });
}

/** Returns why the address resolved from `host` is rejected, or undefined when it is allowed. */
function rejectionReason(host: string, resolved: ResolvedAddress, policy: OutboundPolicy): string | undefined {
  const family = resolved.family === 6 ? 'ipv6' : 'ipv4';
  const listed = [policy.allowList, policy.alwaysAllowed].some((list) => list?.addresses.check(resolved.address, family));
  if (metadata.check(resolved.address, family)) {
    return listed ? undefined : 'resolves to a link-local or cloud metadata address';
  }
  if (listed || policy.alwaysAllowed?.names.has(host)) return undefined;
  const { allowList } = policy;
  if (allowList.any) return undefined;
  if (allowList.size > 0) return allowList.names.has(host) ? undefined : 'is not in the allow list';
  const range = blockedRange(resolved.address, family);
  return range ? `resolves to ${range} address` : undefined;
}

const metadata = new BlockList();
for (const [address, prefix, family] of METADATA_RANGES) metadata.addSubnet(address, prefix, family);

const blocked = new Map<string, BlockList>();
for (const [address, prefix, family, label] of BLOCKED_RANGES) {
  const list = blocked.get(label) ?? new BlockList();
  list.addSubnet(address, prefix, family);
  blocked.set(label, list);
}

function blockedRange(address: string, family: 'ipv4' | 'ipv6'): string | undefined {
  for (const [label, list] of blocked) {
    if (list.check(address, family)) return label;
  }
  return undefined;
}

function rejected(host: string, reason: string, policy: OutboundPolicy, field: string): AppError {
  const fix = policy.setting ? `. An operator can allow it in ${policy.setting}` : '';
  return invalidArgument(`host ${host} is not allowed: it ${reason}${fix}`, [
    { field, message: `host ${host} ${reason} and is not allowed` },
  ]);
}

function unbracket(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

function familyName(family: number): 'ipv4' | 'ipv6' {
  return family === 6 ? 'ipv6' : 'ipv4';
}
