/**
 * `--only-when-interface IFACE`: deliver only while that interface is up and has a carrier (the auto-upload
 * clients' "only on Wi-Fi / only on Ethernet"). Pure: the verdict from what /sys/class/net/IFACE says.
 */

export interface InterfaceView {
  exists: boolean;
  /** /sys/class/net/IFACE/operstate: up, down, dormant, lowerlayerdown, unknown … */
  operstate?: string;
  /** /sys/class/net/IFACE/carrier: '1', '0', or unreadable (undefined) while the interface is down */
  carrier?: string;
}

/** undefined when the interface may carry the sync; otherwise why not, in a few words. */
export function interfaceVerdict(name: string, v: InterfaceView): string | undefined {
  if (!v.exists) return `${name} does not exist`;
  // `unknown`: drivers that do not report an operational state (loopback, dummy, some USB adapters) — the carrier decides.
  if (v.operstate !== 'up' && v.operstate !== 'unknown') return `${name} is ${v.operstate ?? 'in an unknown state'}`;
  if (v.carrier !== '1') return `${name} has no carrier`;
  return undefined;
}
