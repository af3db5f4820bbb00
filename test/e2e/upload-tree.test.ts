/**
 * Issue 9: the upload tree belongs to the upload account, so root's tools treat it as hostile data. With
 * things planted by the account's uid (setpriv, as anything running with it could), doctor in every mode,
 * doctor --fix and init's re-run must run no command from a name, follow no link, chown or chmod nothing
 * outside the tree, and flag (and --fix reset) dangerous modes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ThrowawayHost } from '../../src/system/hosts.js';
import { cli, collectorHost, KEYS_FILE, makeKey, ROOT, USER } from './helpers.js';

interface Check { id: string; status: string; evidence: string[]; fix?: string }
interface Report { ok: boolean; checks: Check[]; fixes?: Array<{ steps?: Array<{ id: string; status: string; summary?: string }> }> }

describe('the upload tree is the account\'s: root runs nothing from it and follows nothing in it', () => {
  let h: ThrowawayHost;
  let pub: string;
  /** Run a script with the upload account's uid and gid (its shell is nologin; programs run directly). */
  const asAccount = async (script: string) => {
    const r = await h.run(['sh', '-c', script], { user: USER });
    expect(r.exitCode, r.stderr).toBe(0);
  };
  const doctorJson = async (args: string[] = []) => {
    const r = await cli(h, ['doctor', '--json', ...args]);
    expect(r.stderr).toBe('');
    return { code: r.exitCode, report: JSON.parse(r.stdout) as Report };
  };
  const check = (rep: Report, id: string) => rep.checks.find((c) => c.id === id);
  // /tmp and others show the real machine's files through the overlay: look for this test's marker only.
  const markers = () => h.sh('find /root /tmp /run /var /home /srv /etc /opt -name "PWNED-TREE*" 2>/dev/null || true');

  beforeAll(async () => {
    h = await collectorHost('tree');
    pub = await makeKey(h, '/root/camkey');
    const r = await cli(h, ['init', '--yes', '--key', pub]);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    await h.sh('echo secret > /root/victim && chmod 0600 /root/victim');
  });
  afterAll(async () => {
    await h?.destroy();
  });

  it('a directory named with a newline and "!cmd" runs nothing in doctor, doctor --json, --fix or init, and is shown quoted', async () => {
    expect(await markers()).toBe('');
    const name = 'x\n!cd;touch PWNED-TREE;#';
    const esc = '\u001b[2J\u001b[31mFAKE-PASS';
    await asAccount(`mkdir "${ROOT}/images/$(printf 'x\\n!cd;touch PWNED-TREE;#')" "${ROOT}/allsky/$(printf '\\033[2J\\033[31mFAKE-PASS')"`);
    expect(await h.sh(`ls ${ROOT}/images | od -c | grep -c '!   c   d'`)).toBe('1\n');

    // After each root command: the name's "!cd;touch PWNED-TREE" never ran (sftp's ! runs a local shell).
    const human = await cli(h, ['doctor']);
    expect(await markers()).toBe('');
    expect(human.stdout).toContain(JSON.stringify(`${ROOT}/images/${name}`));
    expect(human.stdout).toContain(JSON.stringify(`${ROOT}/allsky/${esc}`));
    expect(human.stdout.split('\n').some((l) => l.startsWith('!cd'))).toBe(false);
    expect(human.stdout).not.toContain('\u001b[2J');

    const d = await doctorJson();
    expect(await markers()).toBe('');
    const names = check(d.report, 'tree.names')!;
    expect(names.status).toBe('warn');
    expect(names.evidence).toEqual([JSON.stringify(`${ROOT}/allsky/${esc}`), JSON.stringify(`${ROOT}/images/${name}`)]);
    // The probe ran, in the plainly named directories only, and passed.
    expect(check(d.report, 'probe.login')?.status).toBe('pass');
    expect(check(d.report, 'probe.dirs')?.status).toBe('pass');
    expect(d.code).toBe(0);

    const fix = await cli(h, ['doctor', '--fix', '--json']);
    expect(await markers()).toBe('');
    expect(JSON.parse(fix.stdout).checks.find((c: Check) => c.id === 'probe.dirs')?.status).toBe('pass');
    const init = await cli(h, ['init', '--yes']);
    expect(init.exitCode, init.stdout + init.stderr).toBe(0);
    expect(init.stdout).toMatch(/Self-test/);

    expect(await markers()).toBe('');
    // The name is still the account's: listed, never removed or changed by root.
    expect(await h.sh(`stat -c '%U %a' ${ROOT}/images/x*`)).toBe(`${USER} 755\n`);
    await asAccount(`rmdir ${ROOT}/images/x* && rmdir ${ROOT}/allsky/*FAKE-PASS`);
  });

  it('links planted at the probe\'s names never lead root to a file outside the tree', async () => {
    const victim = () => h.sh('stat -c "%u:%g %a %s %Y" /root/victim; sha256sum /root/victim');
    const before = await victim();
    const dirs = ['allsky', 'images', 'videos', 'keograms', 'startrails', 'images/videos'];
    const plant = () => asAccount(dirs.map((d) => ['', '.tmp', '.read'].map((s) => `ln -sfn /root/victim ${ROOT}/${d}/.sftp-setup-probe${s}`).join('; ')).join('; '));
    await plant();
    const d = await doctorJson();
    expect(check(d.report, 'probe.login')?.status).toBe('pass');
    expect(check(d.report, 'probe.no-read')?.status).toBe('pass');
    expect(check(d.report, 'probe.dirs')?.status).toBe('pass');
    const links = check(d.report, 'tree.entries')!;
    expect(links.status).toBe('fail');
    expect(links.evidence).toContain(`${ROOT}/images/.sftp-setup-probe.read: symbolic link (${USER}:${(await h.sh(`id -g ${USER}`)).trim()} 0777)`);
    expect(await victim()).toBe(before);

    await plant();
    await cli(h, ['doctor', '--fix']);
    expect(await victim()).toBe(before);
    await plant();
    const init = await cli(h, ['init', '--yes']);
    expect(init.exitCode, init.stdout + init.stderr).toBe(0);
    expect(await victim()).toBe(before);
    // Our own names are ours to clear (unlink: the link goes, never its target).
    expect(await h.sh(`find ${ROOT} -name '.sftp-setup-probe*' | wc -l`)).toBe('0\n');
  });

  it('a directory swapped for a link to /etc: doctor --fix and init chown, chmod and create nothing there', async () => {
    const etc = () => h.sh('stat -c "%n %u:%g %a" /etc /etc/ssh /etc/passwd; ls /etc | md5sum');
    const before = await etc();
    await asAccount(`mv ${ROOT}/images/videos ${ROOT}/images/videos.old && ln -s /etc ${ROOT}/images/videos`);
    const d = await doctorJson(['--no-probe']);
    expect(check(d.report, 'tree.entries')?.evidence.some((l) => l.startsWith(`${ROOT}/images/videos: symbolic link`))).toBe(true);
    expect(check(d.report, 'chroot.upload-dirs')?.status).toBe('fail');

    const fix = await doctorJson(['--fix']);
    expect(fix.code).toBe(1);
    const init = await cli(h, ['init', '--yes']);
    expect(init.exitCode).toBe(2);
    expect(init.stderr).toMatch(/images\/videos.*(link|not a directory)/);
    expect(await etc()).toBe(before);
    expect(await h.sh('ls -d /etc/thumbnails 2>&1 || true')).toMatch(/No such file/);

    await asAccount(`rm ${ROOT}/images/videos && mv ${ROOT}/images/videos.old ${ROOT}/images/videos`);
    expect((await doctorJson(['--no-probe'])).code).toBe(0);
  });

  it('the same directory swapped back and forth while init and doctor --fix run: /etc is never changed', async () => {
    const etc = () => h.sh('stat -c "%n %u:%g %a" /etc /etc/ssh /etc/passwd; ls /etc | md5sum');
    const before = await etc();
    // keograms 0700 gives the upload-dirs step something to apply on every run; the swap races its check.
    // Renames only (videos <-> videos.d, the link waiting as videos.l); root may legitimately create a
    // missing videos in the instant between two renames, so the loop tolerates failed steps.
    await asAccount(`ln -s /etc ${ROOT}/images/videos.l`);
    const race = h.run(['sh', '-c', `cd ${ROOT}/images && while [ ! -e /run/stop-race ]; do chmod 0700 ${ROOT}/keograms;` +
      ' mv -T videos videos.d; mv -T videos.l videos; sleep 0.01; mv -T videos videos.l; mv -T videos.d videos; done 2>/dev/null; true'], { user: USER });
    for (let i = 0; i < 6; i++) {
      await cli(h, ['init', '--yes', '--no-verify']);
      await cli(h, ['doctor', '--fix', '--no-probe']);
    }
    await h.sh('touch /run/stop-race');
    await race;
    expect(await etc()).toBe(before);
    // Put the tree back as it was: the real videos directory, no link.
    await h.sh(`cd ${ROOT}/images && rm -f /run/stop-race && { [ ! -L videos ] || rm videos; } && { [ ! -d videos.d ] || { rm -rf videos && mv -T videos.d videos; }; } && { [ ! -L videos.l ] || rm videos.l; }`);
    expect(await h.sh(`ls -A ${ROOT}/images | sort`)).toBe('keograms\nstartrails\nvideos\n');
    expect((await cli(h, ['init', '--yes'])).exitCode).toBe(0);
    expect(await h.sh(`stat -c '%F %a' ${ROOT}/images/videos ${ROOT}/keograms`)).toBe('directory 755\ndirectory 755\n');
  });

  it('a set-uid file and a world-writable directory made by the account: doctor fails naming them, --fix resets them', async () => {
    await asAccount(`cd ${ROOT}/images && echo x > evil && chmod 6755 evil && mkdir open && chmod 0777 open && chmod 2775 ${ROOT}/keograms && touch open/f && chmod 0666 open/f`);
    const gid = (await h.sh(`id -g ${USER}`)).trim();
    const d = await doctorJson(['--no-probe']);
    expect(d.code).toBe(1);
    const modes = check(d.report, 'tree.modes')!;
    expect(modes.status).toBe('fail');
    expect(modes.evidence).toEqual([
      `${ROOT}/images/evil: set-uid, set-gid (${USER}:${gid} 6755)`,
      `${ROOT}/images/open: group-writable, world-writable (${USER}:${gid} 0777)`,
      `${ROOT}/images/open/f: group-writable, world-writable (${USER}:${gid} 0666)`,
      `${ROOT}/keograms: set-gid, group-writable (${USER}:${gid} 2775)`,
    ]);

    const dry = await doctorJson(['--fix', '--dry-run']);
    const step = dry.report.fixes?.flatMap((f) => f.steps ?? []).find((s) => s.id === 'tree-modes');
    expect(step?.status).toBe('would-change');
    expect(step?.summary).toMatch(/^reset 4 mode\(s\)/);
    expect(await h.sh(`stat -c '%a' ${ROOT}/images/evil ${ROOT}/images/open`)).toBe('6755\n777\n');

    const fixed = await doctorJson(['--fix']);
    expect(fixed.report.fixes?.flatMap((f) => f.steps ?? []).find((s) => s.id === 'tree-modes')?.status).toBe('changed');
    expect(check(fixed.report, 'tree.modes')?.status).toBe('pass');
    expect(fixed.code, JSON.stringify(fixed.report.checks.filter((c) => c.status === 'fail'))).toBe(0);
    expect(await h.sh(`stat -c '%a %U' ${ROOT}/images/evil ${ROOT}/images/open ${ROOT}/images/open/f ${ROOT}/keograms`))
      .toBe(`755 ${USER}\n755 ${USER}\n644 ${USER}\n755 ${USER}\n`);
  });
});

describe('init --adopt reads the old keys without following a link or opening a FIFO', () => {
  let h: ThrowawayHost;
  let rootKey: string;
  let camKey: string;

  beforeAll(async () => {
    h = await collectorHost('adopt-tree');
    rootKey = await makeKey(h, '/root/rootkey');
    camKey = await makeKey(h, '/root/camkey');
    // A guide-made account whose old home's .ssh is a link to root's own (as the account could leave it).
    await h.sh(`set -e; useradd -m -d /home/${USER} -s /bin/bash ${USER}; install -d -m 700 /root/.ssh; echo '${rootKey}' > /root/.ssh/authorized_keys;` +
      ` ln -s /root/.ssh /home/${USER}/.ssh; chown -h ${USER}:${USER} /home/${USER}/.ssh; mkdir -p ${ROOT}/images; chown ${USER}:${USER} ${ROOT}/images`);
  });
  afterAll(async () => {
    await h?.destroy();
  });

  it('a .ssh that is a link (to /root/.ssh) is refused, not read: root\'s key never becomes the upload account\'s', async () => {
    const before = await h.sh('stat -c "%n %u:%g %a %s" /root/.ssh /root/.ssh/authorized_keys; getent passwd ' + USER);
    const r = await cli(h, ['init', '--adopt', '--yes', '--dirs', 'images']);
    expect(r.exitCode, r.stdout + r.stderr).toBe(2);
    expect(r.stderr).toContain(`/home/${USER}/.ssh is not a plain directory or file`);
    expect(await h.sh(`cat ${KEYS_FILE} 2>/dev/null || true`)).not.toContain(rootKey.split(' ')[1]);
    expect(await h.sh('stat -c "%n %u:%g %a %s" /root/.ssh /root/.ssh/authorized_keys; getent passwd ' + USER)).toBe(before);
  });

  it('an authorized_keys that is a FIFO is refused without hanging; a plain file is adopted', async () => {
    await h.sh(`rm /home/${USER}/.ssh && install -d -o ${USER} -g ${USER} -m 700 /home/${USER}/.ssh && mkfifo /home/${USER}/.ssh/authorized_keys && chown -h ${USER} /home/${USER}/.ssh/authorized_keys`);
    const r = await cli(h, ['init', '--adopt', '--yes', '--dirs', 'images']);
    expect(r.exitCode, r.stdout + r.stderr).toBe(2);
    expect(r.stderr).toContain(`/home/${USER}/.ssh/authorized_keys is not a plain directory or file`);
    await h.sh(`rm /home/${USER}/.ssh/authorized_keys && echo '${camKey}' > /home/${USER}/.ssh/authorized_keys && chown ${USER} /home/${USER}/.ssh/authorized_keys`);
    const ok = await cli(h, ['init', '--adopt', '--yes', '--dirs', 'images']);
    expect(ok.exitCode, ok.stdout + ok.stderr).toBe(0);
    expect(await h.sh(`cat ${KEYS_FILE}`)).toContain(camKey.split(' ')[1]);
  });
});
