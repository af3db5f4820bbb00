/**
 * The camera doctor: the upload key, the lftp and Allsky settings that point at it, known_hosts against
 * what the collector presents now, reachability, a real SFTP login as Allsky makes it, and Allsky's upload
 * sequence (put, rm, mv, rm) in every remote directory Allsky uses. Read-only on the camera; the remote
 * probe files are removed again.
 */
import { connect } from 'node:net';
import { lookup } from 'node:dns/promises';
import { allskyUploadScript, classifyUploadFailure } from '../camera/upload-script.js';
import { certAuthorityEntries, hostEntries, hostPattern, HOST_KEY_ORDER } from '../camera/known-hosts.js';
import { certAuthorityCheck, certificateChecks } from './camera-cert.js';
import { readCameraSetup, type CameraSetup } from '../camera/read.js';
import { splitWords } from '../lftp/rc.js';
import { PINNED_HOST_KEY_ARGS, pinsHostKeyChecking } from '../lftp/connect-program.js';
import { modifiedAt, readText, statPath } from '../system/files.js';
import { runLftpFile, withScratchDir } from '../system/lftp.js';
import { checkSftpLogin, scanHostKeys, type RunAs } from '../system/ssh-client.js';
import { refusedGreeting } from './logs.js';
import { syncChecks } from './sync.js';
import { fail, ownerMode, pass, q, skip, warn, type DoctorCheck } from './check.js';
import { DEFAULT_USER } from '../collector/layout.js';

// ssh's UpdateHostKeys would add the collector's other host keys to known_hosts after a login: not ours to
// change, also when a hand-made connect-program leaves it on.
const NO_UPDATE = ['-o', 'UpdateHostKeys=no'];
const YEAR_MS = 365 * 24 * 3600 * 1000;
const KEYSCAN_TYPE = (t: string) => (t === 'ssh-ed25519' ? 'ed25519' : t.startsWith('ecdsa-') ? 'ecdsa' : t === 'ssh-rsa' ? 'rsa' : undefined);

export async function cameraDoctor(o: { allskyDir?: string; probe: boolean }): Promise<DoctorCheck[]> {
  const ctx = await readCameraSetup(o);
  const me = process.getuid?.();
  const who: RunAs | undefined = me === ctx.owner.uid ? undefined : ctx.owner;
  const asOwner = (cmd: string) => (who ? `sudo -u ${ctx.owner.name} ${cmd}` : cmd);
  const out: DoctorCheck[] = [];
  const r = ctx.remote;
  const reconfigure = `sftp-setup allsky-config --collector ${r.host ?? '<collector>'} --user ${r.user ?? DEFAULT_USER}${r.port && r.port !== 22 ? ` --port ${r.port}` : ''}`;

  // Allsky's settings.
  if (ctx.generation === 'none') {
    out.push(skip('camera.allsky', 'Allsky upload settings', ctx.allskyProblem ?? 'no Allsky install found'));
  } else {
    const problems: string[] = [];
    if (r.protocol !== 'sftp') problems.push(`protocol is ${JSON.stringify(r.protocol ?? '')}, not "sftp"`);
    if (r.enabled === false) problems.push('useremoteserver is off: nothing is uploaded');
    if (!r.host) problems.push('no remote host');
    if (!r.user) problems.push('no remote user');
    if (!r.password) problems.push('empty password (Allsky warns, and lftp may prompt): any dummy such as n/a will do');
    if (r.port !== undefined && !(r.port >= 1 && r.port <= 65535)) problems.push(`port ${r.port} is not a TCP port`);
    const ev = [`${ctx.settingsFile}: protocol ${r.protocol ?? '-'}, host ${r.host ?? '-'}, port ${r.port ?? 22}, user ${r.user ?? '-'}, image dir ${JSON.stringify(r.imageDir ?? '')}`];
    out.push(problems.length
      ? fail('camera.allsky', `Allsky uploads over SFTP (${ctx.generation} settings in ${ctx.allskyDir})`, [...ev, ...problems], { fix: reconfigure })
      : pass('camera.allsky', `Allsky uploads over SFTP (${ctx.generation} settings in ${ctx.allskyDir})`, ev));
  }

  // The connect-program: where it is set and how it is quoted.
  if (!ctx.connectProgram) {
    out.push(fail('camera.connect-program', 'lftp uses the upload key (sftp:connect-program)', [`no "set sftp:connect-program" in Allsky's LFTP commands or ${ctx.rc?.path ?? `${ctx.owner.home}/.lftp/rc`}`], {
      reason: 'lftp then runs plain ssh, which offers the default keys and may ask for a password', fix: reconfigure,
    }));
  } else {
    const problems: string[] = [];
    const cmds = r.lftpCommands ?? '';
    if (/&#0?39;|&apos;/.test(cmds)) problems.push(`Allsky's LFTP commands hold an HTML-encoded quote (${cmds.match(/&#0?39;|&apos;/)![0]}) that upload.sh does not decode`);
    else if (/connect-program\s+'/.test(cmds)) problems.push('Allsky\'s LFTP commands quote the connect-program with \' (the WebUI stores it as &#39;): use double quotes');
    if (!ctx.keyPath) problems.push('the connect-program has no -i KEY');
    else if (ctx.keyPath.endsWith('.pub')) problems.push(`-i ${ctx.keyPath} is the public half`);
    const rcKey = ctx.rc?.connectProgram ? splitWords(ctx.rc.connectProgram) : undefined;
    if (rcKey && ctx.connectFrom !== ctx.rc?.path && ctx.rc?.connectProgram !== ctx.connectProgram) {
      problems.push(`${ctx.rc!.path} sets another connect-program (Allsky's wins): ${ctx.rc!.connectProgram}`);
    }
    const unpinned = !pinsHostKeyChecking(splitWords(ctx.connectProgram));
    if (unpinned) {
      problems.push(`the connect-program does not pin host-key checking (${PINNED_HOST_KEY_ARGS.join(' ')}): a "StrictHostKeyChecking no" or "UserKnownHostsFile /dev/null" in ~/.ssh/config would let uploads go to any machine answering as the collector`);
    }
    const ev = [`${ctx.connectFrom}: ${ctx.connectProgram}`];
    const serious = problems.filter((p) => !p.includes("Allsky's wins") && !p.includes('does not pin host-key checking'));
    out.push(serious.length
      ? fail('camera.connect-program', 'lftp uses the upload key (sftp:connect-program)', [...ev, ...problems], { fix: reconfigure })
      : problems.length ? warn('camera.connect-program', 'lftp uses the upload key (sftp:connect-program)', [...ev, ...problems], unpinned ? { fix: reconfigure } : {})
      : pass('camera.connect-program', 'lftp uses the upload key (sftp:connect-program)', ev));
  }

  out.push(...(await keyChecks(ctx, asOwner, reconfigure)));
  out.push(...(await syncChecks(ctx)));

  // Network, host key, login and directories need the collector's address.
  if (!r.host) {
    out.push(skip('camera.reach', 'the collector answers', 'no collector host configured'));
    return out;
  }
  const port = r.port ?? 22;
  const reach = await reachable(r.host, port);
  const refused = reach.first === undefined ? undefined : refusedGreeting(reach.first);
  out.push(reach.ok
    ? pass('camera.reach', `the collector ${r.host} answers on port ${port}`, [reach.detail])
    : fail('camera.reach', `the collector ${r.host} answers on port ${port}`, [reach.detail], refused ?? {
      reason: 'a wrong host or port in the settings, the collector off, or sshd stopped there (sudo sftp-setup doctor on the collector)', fix: reconfigure.replace(r.host, '<the collector\'s name or address>'),
    }));
  if (!reach.ok) return out;

  // The keyscan and the login are separate connections: run them side by side.
  const canLogin = o.probe && Boolean(ctx.connectProgram && r.user);
  const [kh, login] = await Promise.all([
    knownHostsCheck(ctx, r.host, port, asOwner),
    canLogin ? checkSftpLogin(who, splitWords(ctx.connectProgram!), r.user!, port, r.host) : Promise.resolve(undefined),
  ]);
  out.push(kh);
  if (!o.probe) {
    out.push(skip('camera.login', 'SFTP login as Allsky makes it', '--no-probe'));
    return out;
  }
  if (!ctx.connectProgram || !r.user) {
    out.push(skip('camera.login', 'SFTP login as Allsky makes it', 'no connect-program or user configured'));
    return out;
  }
  if (!login) return out;
  if (login.exitCode !== 0) {
    out.push(fail('camera.login', `SFTP login as ${r.user}@${r.host} with ${ctx.keyPath}`, [lastLines(login.stderr)], loginCause(login.stderr, ctx, reconfigure)));
    return out;
  }
  out.push(pass('camera.login', `SFTP login as ${r.user}@${r.host} with ${ctx.keyPath}`, ['accepted']));
  out.push(await dirsCheck(ctx, who, port));
  return out;
}

function lastLines(s: string): string {
  return s.trim().split('\n').filter((l) => !/^Warning: Permanently added/.test(l)).slice(-2).join(' / ') || '(no output)';
}

function loginCause(stderr: string, ctx: CameraSetup, reconfigure: string): { reason: string; fix?: string } {
  const f = classifyUploadFailure(stderr);
  if (f.kind === 'key-refused') {
    return {
      reason: `the collector refused the key: it is not in ${ctx.remote.user}'s authorized keys there, or it is restricted to other addresses (from=); "sudo sftp-setup doctor" on the collector names which`,
      fix: `on the collector: sudo sftp-setup keys add --user ${ctx.remote.user} '${'<contents of ' + (ctx.keyPath ?? 'KEY') + '.pub>'}'`,
    };
  }
  if (f.kind === 'host-key') return { reason: 'the collector\'s host key does not match known_hosts (see the known_hosts check)' };
  if (f.kind === 'unreachable') return { reason: 'the collector did not answer', fix: reconfigure };
  if (/Connection closed|closed by remote host/.test(stderr)) {
    return { reason: 'the key was accepted, then the collector closed the session: usually its chroot has bad ownership or modes; run sudo sftp-setup doctor on the collector' };
  }
  return { reason: f.detail };
}

async function keyChecks(ctx: CameraSetup, asOwner: (c: string) => string, reconfigure: string): Promise<DoctorCheck[]> {
  const key = ctx.keyPath;
  const title = `upload key ${key ?? ''}`.trim();
  if (!key) return [skip('camera.key', 'upload key', 'no key path in the connect-program')];
  const info = await statPath(key);
  if (!info) return [fail('camera.key', title, [`${key}: missing`], { reason: 'ssh offers no key: "Permission denied (publickey)"', fix: reconfigure })];
  const out: DoctorCheck[] = [];
  const problems: string[] = [];
  const fixes: string[] = [];
  if (info.type !== 'file') problems.push(`${key} is not a regular file`);
  if (info.uid !== ctx.owner.uid) { problems.push(`${key}: owned by uid ${info.uid}, not ${ctx.owner.name} (who runs the uploads)`); fixes.push(`sudo chown ${ctx.owner.name}: ${q(key)}`); }
  if (info.mode & 0o077) { problems.push(`${key}: mode ${ownerMode(info).split(' ')[1]}, readable by others: ssh refuses it ("UNPROTECTED PRIVATE KEY FILE")`); fixes.push(asOwner(`chmod 0600 ${q(key)}`)); }
  const text = await readText(key).catch(() => null);
  let encrypted = false;
  let publicLine: string | undefined;
  if (text !== null) {
    try {
      const { inspectPrivateKey } = await import('../keys/private.js');
      const k = inspectPrivateKey(text, key);
      encrypted = k.encrypted;
      publicLine = k.publicLine;
    } catch (e) {
      problems.push((e as Error).message);
    }
  }
  if (encrypted) { problems.push(`${key} has a passphrase: lftp would ask for it, and unattended uploads fail`); fixes.push(asOwner(`ssh-keygen -p -N '' -f ${q(key)}`)); }
  const ev = [`${key}: ${ownerMode(info)}, owner uid ${info.uid}`];
  out.push(problems.length
    ? fail('camera.key', title, [...ev, ...problems], { fix: fixes.join(' && ') || reconfigure })
    : pass('camera.key', title, ev));

  const pub = await readText(`${key}.pub`).catch(() => null);
  if (pub === null) out.push(warn('camera.key-pub', `${key}.pub matches the key`, [`${key}.pub: missing`], { fix: asOwner(`sh -c 'ssh-keygen -y -f ${q(key)} > ${q(key)}.pub'`) }));
  else if (publicLine) {
    const same = pub.trim().split(/\s+/)[1] === publicLine.split(/\s+/)[1];
    out.push(same
      ? pass('camera.key-pub', `${key}.pub matches the key`)
      : fail('camera.key-pub', `${key}.pub matches the key`, [`${key}.pub holds another key than ${key}`], {
        reason: 'the key the collector was given (the .pub) is not the one ssh offers', fix: asOwner(`sh -c 'ssh-keygen -y -f ${q(key)} > ${q(key)}.pub'`) + ', then authorize the new .pub on the collector',
      }));
  }
  out.push(...(await certificateChecks(key, publicLine, ctx.remote.user, ctx.remote.host)));
  const age = Date.now() - (await modifiedAt(key));
  if (age > YEAR_MS) {
    out.push(warn('camera.key-age', 'upload key younger than a year', [`${key} last changed ${Math.floor(age / 86400000)} days ago`], { fix: 'sftp-setup keys rotate --via <admin>@<collector>' }));
  }
  return out;
}

async function reachable(host: string, port: number): Promise<{ ok: boolean; detail: string; first?: string }> {
  let addr: string;
  try {
    addr = (await lookup(host)).address;
  } catch (e) {
    return { ok: false, detail: `${host} does not resolve (${(e as NodeJS.ErrnoException).code})` };
  }
  return new Promise((resolve) => {
    const s = connect({ host: addr, port, timeout: 5000 });
    const done = (ok: boolean, detail: string, first?: string) => {
      s.destroy();
      resolve({ ok, detail, first });
    };
    s.once('data', (d) => done(/^SSH-/.test(String(d)), `${host} (${addr}) port ${port}: ${String(d).trim().slice(0, 60)}`, String(d)));
    s.once('end', () => done(false, `${host} (${addr}) port ${port}: connection closed before SSH's greeting`));
    s.once('timeout', () => done(false, `${host} (${addr}) port ${port}: no answer in 5 s`));
    s.once('error', (e: NodeJS.ErrnoException) => done(false, `${host} (${addr}) port ${port}: ${e.code === 'ECONNREFUSED' ? 'connection refused' : e.code ?? e.message}`));
  });
}

async function knownHostsCheck(ctx: CameraSetup, host: string, port: number, asOwner: (c: string) => string): Promise<DoctorCheck> {
  const path = ctx.knownHosts;
  const pattern = hostPattern(host, port);
  const text = (await readText(path).catch(() => null)) ?? '';
  const known = hostEntries(text, pattern).map((e) => ({ ...e, raw: e.content.length > 90 ? `${e.content.slice(0, 87)}…` : e.content }));
  // Trusted through the collector's host CA (allsky-config --cert): no host key is pinned at all.
  const cas = certAuthorityEntries(text, pattern);
  if (cas.length && known.length === 0) return certAuthorityCheck(path, pattern, host, port, cas);
  const title = `known_hosts has the collector's current host key (${pattern})`;
  // grep: ssh-keyscan of OpenSSH 10 prints a `# host:port SSH-2.0-…` comment on stdout too.
  const scanCmd = `ssh-keyscan -t ed25519 -p ${port} ${host} | grep -v ^# >> ${q(path)}`;
  const compare = 'compare its fingerprint with the collector\'s (sudo ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub there) before trusting it';
  if (known.length === 0) {
    return fail('camera.known-hosts', title, [`${path}: no entry for ${pattern}`], {
      reason: `ssh cannot verify the collector: every upload fails with "Host key verification failed"; ${compare}`, fix: asOwner(`sh -c '${scanCmd}'`),
    });
  }
  const types = [...new Set(known.map((k) => KEYSCAN_TYPE(k.type)).filter(Boolean))] as string[];
  let scanned: string;
  try {
    scanned = await scanHostKeys(host, port, types.join(',') || 'ed25519');
  } catch (e) {
    return warn('camera.known-hosts', title, [(e as Error).message]);
  }
  const now = scanned.split('\n').map((l) => l.trim().split(/\s+/)).filter((f) => f.length >= 3).map((f) => ({ type: f[1]!, base64: f[2]! }));
  const matches = known.filter((k) => now.some((n) => n.type === k.type && n.base64 === k.base64));
  const stale = known.filter((k) => now.some((n) => n.type === k.type) && !matches.includes(k));
  // ssh asks first for the key types it already knows, in its own order: the first one the server has decides.
  const negotiated = HOST_KEY_ORDER.find((t) => known.some((k) => k.type === t) && now.some((n) => n.type === t));
  const decisive = negotiated === undefined || matches.some((m) => m.type === negotiated);
  if (decisive && matches.length && !stale.length) return pass('camera.known-hosts', title, [`${path} line ${matches.map((m) => m.line).join(', ')}: ${matches[0]!.type} matches what ${host} presents`]);
  if (decisive && matches.length) {
    return warn('camera.known-hosts', title, stale.map((s) => `${path} line ${s.line}: stale ${s.type} key: ${s.raw}`), { fix: asOwner(`sed -i '${stale.map((s) => `${s.line}d`).join(';')}' ${q(path)}`) });
  }
  return fail('camera.known-hosts', title, [
    ...stale.filter((s) => s.type === negotiated).map((s) => `${path} line ${s.line}: ${s.raw}`),
    `${host} now presents: ${now.map((n) => `${n.type} ${n.base64.slice(0, 24)}…`).join(', ')}`,
  ], {
    reason: `the collector's host key changed (reinstalled, or another machine now answers at ${host}); ssh refuses to connect ("REMOTE HOST IDENTIFICATION HAS CHANGED"); ${compare}`,
    fix: `${asOwner(`ssh-keygen -R ${q(pattern)} -f ${q(path)}`)} && ${asOwner(`sh -c '${scanCmd}'`)}`,
  });
}

async function dirsCheck(ctx: CameraSetup, who: RunAs | undefined, port: number): Promise<DoctorCheck> {
  const r = ctx.remote;
  const dirs = ctx.dirs.length ? ctx.dirs : [''];
  const title = `Allsky's upload sequence (put, rm, mv) in ${dirs.map((d) => d || '(login dir)').join(', ')}`;
  return withScratchDir(who, 'sftp-setup-doctor-', async (put) => {
    const file = await put('probe.txt', 'sftp-setup doctor probe\n');
    const name = `.sftp-setup-doctor-${process.pid}`;
    const commands = [r.lftpCommands?.trim() ? r.lftpCommands : ''];
    if (ctx.connectProgram) commands.push(`set sftp:connect-program "${[...splitWords(ctx.connectProgram), ...NO_UPDATE].join(' ')}"`);
    const script = await put('script.lftp', allskyUploadScript({
      lftpCommands: commands.filter(Boolean).join('\n'), host: r.host!, port, user: r.user!, dirs,
      file, dest: name, temp: `${name}.tmp`, after: [`rm ${name}`], failExit: true, mark: 'sftp-setup-ok',
    }));
    const run = await runLftpFile(who, script, r.password || 'n/a');
    const ok = new Set([...run.output.matchAll(/^sftp-setup-ok:(.*)$/gm)].map((m) => m[1]!));
    const failed = dirs.find((d) => !ok.has(d));
    if (failed === undefined && run.exitCode === 0) return pass('camera.remote-dirs', title, [`${dirs.length} directories accept uploads`]);
    const f = classifyUploadFailure(run.output);
    const where = failed === '' ? 'the login directory' : `${failed}`;
    return fail('camera.remote-dirs', title, [`${where}: ${f.detail}`], {
      reason: f.kind === 'missing-dir' ? `the directory ${where} does not exist on the collector, and Allsky never creates it` : `uploads into ${where} fail`,
      fix: f.kind === 'missing-dir' || f.kind === 'denied' ? `on the collector: sudo sftp-setup doctor --fix --user ${r.user}` : undefined,
    });
  });
}
