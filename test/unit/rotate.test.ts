import { describe, expect, it } from 'vitest';
import { editEnvJson, editFtpSettings, editRc, replaceKeyArg } from '../../src/rotate/connect.js';
import { sshOption, viewConnect } from '../../src/lftp/rc.js';
import { newKeyComment, parseState, reached, renderState, rotatePaths, type RotateState } from '../../src/rotate/state.js';

const FP = 'SHA256:' + 'A'.repeat(43);
const state: RotateState = {
  version: 1, step: 'proven', startedAt: '2026-01-01T00:00:00Z', keyPath: '/home/pi/.ssh/allsky_upload',
  oldFingerprint: FP, oldPublicLine: 'ssh-ed25519 AAAA old', newFingerprint: 'SHA256:' + 'B'.repeat(43), newPublicLine: 'ssh-ed25519 AAAA new',
};

describe('rotation state', () => {
  it('round-trips and tells which steps were reached', () => {
    const back = parseState(renderState(state), 'x.rotate.json');
    expect(back).toEqual(state);
    expect(reached(back, 'authorized')).toBe(true);
    expect(reached(back, 'switched')).toBe(false);
    expect(reached(null, 'generated')).toBe(false);
  });
  it('refuses a damaged state file with a fix', () => {
    expect(() => parseState('{', '/k.rotate.json')).toThrow(/not a rotation state file \(not JSON\)/);
    expect(() => parseState(JSON.stringify({ ...state, step: 'nope' }), '/k.rotate.json')).toThrow(/unknown step/);
    expect(() => parseState(JSON.stringify({ ...state, oldFingerprint: 'x' }), '/k.rotate.json')).toThrow(/bad fingerprint/);
  });
  it('names the files beside the key, certificates where ssh -i looks for them', () => {
    expect(rotatePaths('/h/.ssh/k')).toMatchObject({
      newKey: '/h/.ssh/k.new', oldPub: '/h/.ssh/k.old.pub', state: '/h/.ssh/k.rotate.json',
      cert: '/h/.ssh/k-cert.pub', newCert: '/h/.ssh/k.new-cert.pub', oldCert: '/h/.ssh/k.old-cert.pub',
    });
  });
  it('keeps whether the camera uses a certificate, and refuses a damaged flag', () => {
    const cert = { ...state, certificate: true };
    expect(parseState(renderState(cert), 'x.rotate.json')).toEqual(cert);
    expect(parseState(renderState(state), 'x.rotate.json').certificate).toBeUndefined();
    expect(() => parseState(JSON.stringify({ ...state, certificate: 'yes' }), '/k.rotate.json')).toThrow(/certificate is not true or false/);
  });
  it('dates the new comment without piling up dates', () => {
    const now = new Date('2026-04-02T10:00:00Z');
    expect(newKeyComment('pi@allsky', 'x', now)).toBe('pi@allsky rotated 2026-04-02');
    expect(newKeyComment('pi@allsky rotated 2025-04-01', 'x', now)).toBe('pi@allsky rotated 2026-04-02');
    expect(newKeyComment('', 'pi@camera', now)).toBe('pi@camera rotated 2026-04-02');
  });
});

describe('connect-program edits', () => {
  const cp = 'set sftp:connect-program "ssh -a -x -i ~/.ssh/allsky_upload -o IdentitiesOnly=yes -o ControlPath=/run/user/1000/cm-%C -oUserKnownHostsFile=/home/pi/.ssh/kh"';
  it('reads ssh options', () => {
    expect(sshOption('ssh -o ControlPath=/x/cm-%C', 'controlpath')).toBe('/x/cm-%C');
    expect(viewConnect(cp)).toMatchObject({ keyPath: '~/.ssh/allsky_upload', controlPath: '/run/user/1000/cm-%C', knownHosts: '/home/pi/.ssh/kh' });
    expect(viewConnect('set sftp:connect-program "ssh -o ControlPath=none"').controlPath).toBeUndefined();
  });
  it('rewrites only the -i argument, in every generation', () => {
    expect(replaceKeyArg('ssh -i /a/k -i /a/kk', '/a/k', '/b/k')).toBe('ssh -i /b/k -i /a/kk');
    expect(editRc(`# x\n${cp}\n`, '~/.ssh/allsky_upload', '/home/pi/.ssh/allsky_upload').text).toBe(`# x\n${cp.replace('~/.ssh', '/home/pi/.ssh')}\n`);
    const env = `{\n\t"A" : 1,\n\t"REMOTESERVER_LFTP_COMMANDS" : ${JSON.stringify(cp)}\n}\n`;
    const e = editEnvJson(env, '~/.ssh/allsky_upload', '/home/pi/.ssh/allsky_upload');
    expect(e.changed).toBe(true);
    expect(e.text).toBe(env.replace('~/.ssh', '/home/pi/.ssh'));
    expect(editEnvJson(env, '/other', '/home/pi/k').changed).toBe(false);
    const sh = `PROTOCOL="sftp"\nLFTP_COMMANDS='set sftp:connect-program "ssh -i /home/pi/old_key"'\n`;
    expect(editFtpSettings(sh, '/home/pi/old_key', '/home/pi/.ssh/allsky_upload').text).toContain('-i /home/pi/.ssh/allsky_upload"');
  });
});
