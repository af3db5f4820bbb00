/**
 * Upload logging (issue 15): when the Match block makes internal-sftp log (-l), its lines reach the host's
 * log only through `<chroot>/dev/log`. The check looks at that socket, the mount that puts it there, the
 * fstab line that keeps the mount across boots, and whether it is still the socket the host logs through (a
 * syslog daemon that restarted made a new one; the old bind then leads nowhere).
 */
import { devLogPath, logsUploads, removeDevLogFstab, type DevLogFacts, type LogSocket } from '../collector/devlog.js';
import { pass, q, skip, warn, type DoctorCheck } from './check.js';

export interface DevLogView {
  user: string;
  root: string;
  profile: string;
  forceCommand: string;
  socket: LogSocket | null;
  facts: DevLogFacts;
  /** /etc/fstab holds our line for this chroot */
  inFstab: boolean;
}

/** The fstab text has our line for this chroot (the same test uninstall uses to find it). */
export const fstabHasDevLog = (fstab: string, realRoot: string) => removeDevLogFstab(fstab, realRoot).removed;

export function devLogCheck(v: DevLogView): DoctorCheck {
  const { user, root, facts } = v;
  const id = 'chroot.devlog';
  const path = devLogPath(root);
  if (!logsUploads(v.forceCommand)) return skip(id, `${path} for upload logging`, 'upload logging (internal-sftp -l) is not configured', { user });
  const title = `${path} leads to the host's log (upload logging)`;
  const fix = `sudo sftp-setup init --user ${user} --root ${q(root)}${v.profile === 'dropbox' ? ' --profile dropbox' : ''} --log`;
  const evidence = [`ForceCommand ${v.forceCommand}`, `host log socket: ${v.socket ? `${v.socket.path} (${v.socket.kind})` : 'none'}`];
  if (facts.file === 'socket' && !facts.mounted) return pass(id, title, [`${path} is a socket a syslog daemon listens on`], { user });
  if (facts.live && facts.mounted) {
    if (v.inFstab) return pass(id, title, [`${path} is ${v.socket!.path}, bind-mounted and kept in /etc/fstab`], { user });
    return warn(id, title, [...evidence, `${path}: mounted, but no sftp-setup line in /etc/fstab`], {
      user, reason: 'the bind mount is gone after the next reboot, and upload log lines with it', fix,
    });
  }
  const state = facts.mounted ? 'mounted, but not the host\'s log socket any more (the logger made a new one)'
    : facts.file === 'missing' ? 'missing' : `not mounted (${facts.file})`;
  if (!v.socket) {
    return warn(id, title, [...evidence, `${path}: ${state}`], {
      user, reason: 'this host has no log socket (no journald, no syslog daemon at /dev/log): internal-sftp\'s lines are lost', fix: 'start a syslog daemon (e.g. sudo apt-get install rsyslog), then: ' + fix,
    });
  }
  return warn(id, title, [...evidence, `${path}: ${state}`], {
    user, reason: 'internal-sftp logs through /dev/log inside the chroot; without the host\'s socket there, its lines are lost', fix,
  });
}
