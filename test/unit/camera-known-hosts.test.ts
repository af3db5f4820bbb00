import { describe, expect, it } from 'vitest';
import { entryNames, hashHostName, hostPattern, keyscanKeyLines, parseHostKeyLines, planKnownHosts, preferredHostKey } from '../../src/camera/known-hosts.js';
import { allskyUploadScript, classifyUploadFailure } from '../../src/camera/upload-script.js';
import { handoffLine, splitViaOutput, sudoWantsPassword, viaArgv, viaCommand, viaRemoteScript, waitArgs, HOST_KEYS_MARK } from '../../src/camera/handoff.js';
import { UsageError } from '../../src/errors.js';

const K1 = { type: 'ssh-ed25519', base64: 'AAAAC3NzaC1lZDI1NTE5AAAAIA1' };
const K2 = { type: 'ssh-ed25519', base64: 'AAAAC3NzaC1lZDI1NTE5AAAAIB2' };
const E1 = { type: 'ecdsa-sha2-nistp256', base64: 'AAAAE2VjZHNh' };

describe('known_hosts', () => {
  it('names hosts the way ssh does', () => {
    expect(hostPattern('Collector', 22)).toBe('collector');
    expect(hostPattern('collector', 2222)).toBe('[collector]:2222');
    expect(hostPattern('fd00::1', 2222)).toBe('[fd00::1]:2222');
  });

  it('matches hashed entries by recomputing the HMAC', () => {
    const salt = Buffer.alloc(20, 7);
    const h = hashHostName('[collector]:2222', salt);
    expect(h).toMatch(/^\|1\|[A-Za-z0-9+/=]+\|[A-Za-z0-9+/=]+$/);
    expect(entryNames(h, '[collector]:2222')).toBe(true);
    expect(entryNames(h, 'collector')).toBe(false);
    expect(entryNames('collector', 'collector')).toBe(true);
    expect(entryNames('collect*', 'collector')).toBe(false);
  });

  it('appends the pinned key once and is idempotent', () => {
    const a = planKnownHosts('other ssh-ed25519 XYZ\n', 'collector', K1, [K1], { hash: false });
    expect(a).toMatchObject({ changed: true, added: true, stale: [] });
    expect(a.text).toBe(`other ssh-ed25519 XYZ\ncollector ${K1.type} ${K1.base64}\n`);
    const b = planKnownHosts(a.text, 'collector', K1, [K1], { hash: false });
    expect(b.changed).toBe(false);
    const hashed = planKnownHosts('', 'collector', K1, [K1], { hash: true });
    expect(planKnownHosts(hashed.text, 'collector', K1, [K1], { hash: true }).changed).toBe(false);
  });

  it('drops stale entries (only this host from shared lines), keeps other types and markers', () => {
    const text = [
      `collector,10.0.0.1 ${K2.type} ${K2.base64} old`,
      `${hashHostName('collector', Buffer.alloc(20, 1))} ${K2.type} ${K2.base64}`,
      `collector ${E1.type} ${E1.base64}`,
      `@revoked collector ${K2.type} ${K2.base64}`,
      '# comment',
    ].join('\n') + '\n';
    const p = planKnownHosts(text, 'collector', K1, [K1], { hash: false });
    expect(p.stale.length).toBe(2);
    expect(p.text).toBe([
      `10.0.0.1 ${K2.type} ${K2.base64} old`,
      `collector ${E1.type} ${E1.base64}`,
      `@revoked collector ${K2.type} ${K2.base64}`,
      '# comment',
      `collector ${K1.type} ${K1.base64}`,
    ].join('\n') + '\n');
    // An ecdsa key the collector still offers is not stale either.
    expect(planKnownHosts(`collector ${E1.type} ${E1.base64}\n`, 'collector', K1, [K1, E1], { hash: false }).stale).toEqual([]);
  });

  it('keeps only the key lines of ssh-keyscan output (OpenSSH 10 prints its comment on stdout)', () => {
    const out = `# collector:22 SSH-2.0-OpenSSH_10.0p2 Debian-7\ncollector ${K1.type} ${K1.base64}\n\n  # collector:22 SSH-2.0-OpenSSH_10.0\r\ncollector ${E1.type} ${E1.base64}\n`;
    expect(keyscanKeyLines(out)).toBe(`collector ${K1.type} ${K1.base64}\ncollector ${E1.type} ${E1.base64}\n`);
    expect(keyscanKeyLines('# collector:22 SSH-2.0-OpenSSH_10.0p2\n')).toBe('');
  });

  it('reads ssh-keyscan output and .pub files, and prefers ed25519', () => {
    const keys = parseHostKeyLines(`collector ${E1.type} ${E1.base64}\n# collector:22 SSH-2.0\ncollector ${K1.type} ${K1.base64}\n${K1.type} ${K1.base64} root@c\n`);
    expect(keys).toEqual([E1, K1]);
    expect(preferredHostKey(keys)).toEqual(K1);
  });
});

describe('Allsky upload sequence', () => {
  it('is upload.sh\'s command file', () => {
    const text = allskyUploadScript({
      lftpCommands: 'set sftp:connect-program "ssh -a -x -i /home/pi/.ssh/allsky_upload"', host: 'collector', port: 22, user: 'allsky-upload',
      dir: 'images/keograms', file: '/tmp/k.jpg', dest: 'keogram.jpg', temp: 'keogram-abc',
    });
    expect(text).toBe([
      'set sftp:connect-program "ssh -a -x -i /home/pi/.ssh/allsky_upload"',
      'set dns:fatal-timeout 10; set net:max-retries 2; set net:timeout 10',
      'open --user allsky-upload --env-password -p 22 sftp://collector',
      'cd .', 'cd images/keograms/', 'put /tmp/k.jpg -o keogram-abc', 'rm -f keogram.jpg', 'mv keogram-abc keogram.jpg',
    ].join('\n') + '\n');
  });

  it('walks several directories in one session, marking each that passed (doctor)', () => {
    const text = allskyUploadScript({
      lftpCommands: '', host: 'fe80::1', port: 2222, user: 'u', dirs: ['', 'images/keograms'], file: '/tmp/p', dest: 'p', temp: 'p.tmp',
      after: ['rm p'], failExit: true, mark: 'ok',
    });
    expect(text.split('\n')).toEqual([
      'set cmd:fail-exit yes; set xfer:log no; set cmd:save-cwd-history no',
      'set dns:fatal-timeout 10; set net:max-retries 2; set net:timeout 10',
      'open --user u --env-password -p 2222 sftp://[fe80::1]', 'cd .',
      'put /tmp/p -o p.tmp', 'rm -f p', 'mv p.tmp p', 'rm p', 'echo ok:',
      'cd images/keograms/', 'put /tmp/p -o p.tmp', 'rm -f p', 'mv p.tmp p', 'rm p', 'echo ok:images/keograms', '',
    ]);
  });

  it('reads failures into causes', () => {
    expect(classifyUploadFailure('cd: Fatal error: max-retries exceeded (allsky-upload@collector: Permission denied (publickey).)').kind).toBe('key-refused');
    expect(classifyUploadFailure('Host key verification failed.\r\n').kind).toBe('host-key');
    expect(classifyUploadFailure('ssh: connect to host collector port 2222: Connection refused').kind).toBe('unreachable');
    expect(classifyUploadFailure('cd: Access failed: No such file (images/keograms)').kind).toBe('missing-dir');
  });
});

describe('handoff', () => {
  it('prints a command to paste on the collector', () => {
    expect(handoffLine('allsky-upload', 'ssh-ed25519 AAAA pi@cam')).toBe("sudo sftp-setup keys add --user allsky-upload 'ssh-ed25519 AAAA pi@cam'");
    expect(handoffLine('u', "ssh-ed25519 AAAA it's")).toBe(`sudo sftp-setup keys add --user u 'ssh-ed25519 AAAA it'\\''s'`);
  });

  it('runs keys add with sudo unless the admin is root, and splits the output', () => {
    expect(viaRemoteScript({ admin: 'admin', user: 'allsky-upload', remoteCommand: 'sftp-setup', addKey: true, wait: 60 })).toMatch(/; sudo -n sftp-setup keys add --user allsky-upload - --wait 60$/);
    expect(viaRemoteScript({ admin: 'root', user: 'allsky-upload', remoteCommand: 'sftp-setup', addKey: true, wait: 60 })).toMatch(/; sftp-setup keys add/);
    expect(viaRemoteScript({ admin: 'root', user: 'u', remoteCommand: 'x', addKey: false, wait: 60 })).not.toContain('keys add');
    expect(splitViaOutput(`ssh-ed25519 AAAA root@c\n${HOST_KEYS_MARK}\nadded\n`)).toEqual({ hostKeys: 'ssh-ed25519 AAAA root@c\n', rest: 'added\n' });
    expect(splitViaOutput('nothing')).toBeUndefined();
    expect(viaCommand('pi', ['keys', 'remove', '--user', 'u', 'SHA256:a+b/c'], 0, '/opt/x')).toBe('sudo -n /opt/x keys remove --user u SHA256:a+b/c --wait 0');
    expect(sudoWantsPassword('sudo: a password is required\n')).toBe(true);
  });

  it("passes the camera's --wait to the collector's run, as its own word after the command", () => {
    // allsky-config --via (keys add), keys rotate --via (keys add, keys remove)
    expect(viaArgv('root', ['keys', 'add', '--user', 'allsky-upload', '-'], 300, 'sftp-setup')).toEqual(['sftp-setup', 'keys', 'add', '--user', 'allsky-upload', '-', '--wait', '300']);
    expect(viaArgv('pi', ['keys', 'remove', '--user', 'u', 'SHA256:x'], 0, '/opt/x')).toEqual(['sudo', '-n', '/opt/x', 'keys', 'remove', '--user', 'u', 'SHA256:x', '--wait', '0']);
    expect(viaRemoteScript({ admin: 'root', user: 'u', remoteCommand: 'sftp-setup', addKey: true, wait: 86_400 })).toMatch(/; sftp-setup keys add --user u - --wait 86400$/);
  });

  it('lets only a whole number of seconds in --wait\'s range into the remote line', () => {
    expect(waitArgs(0)).toEqual(['--wait', '0']);
    expect(waitArgs(86_400)).toEqual(['--wait', '86400']);
    for (const bad of [-1, 1.5, 86_401, Number.NaN, Number.POSITIVE_INFINITY, 1e21, '5; rm -rf /' as unknown as number]) {
      expect(() => waitArgs(bad), String(bad)).toThrow(UsageError);
      expect(() => viaCommand('root', ['keys', 'add', '-'], bad, 'sftp-setup'), String(bad)).toThrow(UsageError);
    }
  });
});
