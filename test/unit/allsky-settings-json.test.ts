import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  currentGenerationChanges,
  readCurrentRemote,
  updateJsonObject,
} from '../../src/allsky/settings-json.js';
import { connectProgramSetLine } from '../../src/lftp/connect-program.js';
import { UsageError } from '../../src/errors.js';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/allsky/${name}`, import.meta.url), 'utf8');
const SET = connectProgramSetLine({ keyPath: '/home/pi/.ssh/allsky_ed25519', knownHostsPath: '/home/pi/.ssh/known_hosts' });
const OPTS = { host: 'collector.local', port: 22, user: 'allsky', imageDir: 'images', lftpCommands: SET };

describe('updateJsonObject', () => {
  it('returns the original text when nothing changes', () => {
    const text = '{\n  "a": 1.0,\n  "b": "x"\n}';
    expect(updateJsonObject(text, { a: 1, b: 'x' }, 'settings.json')).toEqual({ text, changed: false });
    expect(updateJsonObject(text, {}, 'settings.json')).toEqual({ text, changed: false });
  });

  it.each([
    ['tabs', '{\n\t"a": 1,\n\t"b": true\n}\n', '{\n\t"a": 2,\n\t"b": true,\n\t"c": "new"\n}\n'],
    ['2 spaces, no final newline', '{\n  "a": 1,\n  "b": true\n}', '{\n  "a": 2,\n  "b": true,\n  "c": "new"\n}'],
    ['4 spaces, CRLF', '{\r\n    "a": 1,\r\n    "b": true\r\n}\r\n', '{\r\n    "a": 2,\r\n    "b": true,\r\n    "c": "new"\r\n}\r\n'],
    ['env.json " : " separator', '{\n\t"a" : 1,\n\t"b" : true\n}\n', '{\n\t"a" : 2,\n\t"b" : true,\n\t"c" : "new"\n}\n'],
    ['compact', '{"a":1,"b":true}', '{"a":2,"b":true,"c":"new"}'],
    ['empty object', '{}\n', '{\n\t"c": "new"\n}\n'],
  ])('keeps the file style: %s', (_name, before, after) => {
    const r = updateJsonObject(before, { a: 2, c: 'new' }, 'settings.json');
    const expected = before === '{}\n' ? '{\n\t"a": 2,\n\t"c": "new"\n}\n' : after;
    expect(r).toEqual({ text: expected, changed: true });
    expect(JSON.parse(r.text)).toEqual({ ...JSON.parse(before), a: 2, c: 'new' });
  });

  it('writes \\/ when the file does (PHP json_encode style) and keeps other bytes', () => {
    const before = '{\n    "config": "\\/home\\/pi",\n    "gain": 1.0,\n    "x": ""\n}\n';
    const r = updateJsonObject(before, { x: 'a/b' }, 'settings.json');
    expect(r.text).toBe('{\n    "config": "\\/home\\/pi",\n    "gain": 1.0,\n    "x": "a\\/b"\n}\n');
  });

  it('writes nested values in the file indentation', () => {
    const r = updateJsonObject('{\n  "a": 1\n}', { o: { k: [1, 'x'] } }, 'f');
    expect(r.text).toBe('{\n  "a": 1,\n  "o": {\n    "k": [\n      1,\n      "x"\n    ]\n  }\n}');
  });

  it('keeps \\u escapes and odd spacing of untouched members', () => {
    const before = '{ "t\\u00e9mp" : "\\u00b0C" ,"x":[1, 2 ,3],  "k:e,y": {"a" :1} }';
    const r = updateJsonObject(before, { x: 'y' }, 'f');
    expect(r.text).toBe('{ "t\\u00e9mp" : "\\u00b0C" ,"x":"y",  "k:e,y": {"a" :1} }');
  });

  it('rewrites every copy of a duplicated key', () => {
    const r = updateJsonObject('{"a":1,"b":2,"a":3}', { a: 9 }, 'f');
    expect(r.text).toBe('{"a":9,"b":2,"a":9}');
  });

  it.each(['', 'not json', '[1,2]', 'null', '"str"', '{"a":1,}', '{"a":1'])('rejects %j with a UsageError naming the file', (text) => {
    let err: unknown;
    try {
      updateJsonObject(text, { a: 1 }, 'config/settings.json');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).message).toContain('config/settings.json');
    expect((err as UsageError).fix).toMatch(/backup/);
    expect((err as UsageError).fix).toMatch(/WebUI/);
  });

  it('never throws anything but UsageError on arbitrary text (property)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.json(), fc.jsonValue().map((v) => JSON.stringify(v, null, 2))), (text) => {
        try {
          const r = updateJsonObject(text, { remoteserverprotocol: 'sftp', useremoteserver: true }, 'f');
          const parsed = JSON.parse(r.text);
          expect(parsed.remoteserverprotocol).toBe('sftp');
        } catch (e) {
          expect(e).toBeInstanceOf(UsageError);
        }
      }),
    );
  });

  it('leaves untouched keys byte for byte and keeps key order (property)', () => {
    const key = fc.string({ unit: 'binary', minLength: 1, maxLength: 8 }).filter((k) => k !== 'target' && k !== 'added' && k !== '__proto__');
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(key, fc.jsonValue()), { selector: (t) => t[0], maxLength: 8 }),
        fc.constantFrom<string | number>('\t', 2, 4, 0),
        fc.jsonValue(),
        (entries, indent, value) => {
          const obj = Object.fromEntries([...entries, ['target', 'old']]);
          const text = JSON.stringify(obj, null, indent);
          const r = updateJsonObject(text, { target: value, added: 'x' }, 'f');
          const parsed = JSON.parse(r.text);
          expect(Object.keys(parsed)).toEqual([...Object.keys(obj), 'added']);
          expect(parsed.target).toEqual(JSON.parse(JSON.stringify(value)));
          // Every other member's text (its own serialisation) is still in the output unchanged.
          for (const [k, v] of entries) {
            const member = JSON.stringify({ [k]: v }, null, indent).slice(1, -1).trim();
            expect(r.text).toContain(member);
          }
          expect(updateJsonObject(r.text, { target: value, added: 'x' }, 'f').changed).toBe(false);
        },
      ),
    );
  });
});

describe('current generation on the fixtures', () => {
  it('sets exactly the keys from the facts, with Allsky types', () => {
    const c = currentGenerationChanges(OPTS, fixture('env.json'));
    expect(c.settings).toEqual({
      useremoteserver: true,
      remoteserverprotocol: 'sftp',
      remoteserverimagedir: 'images',
      remoteserverimageuploadoriginalname: false,
      remoteservervideodestinationname: 'allsky.mp4',
      remoteserverkeogramdestinationname: 'keogram.jpg',
      remoteserverstartrailsdestinationname: 'startrails.jpg',
    });
    expect(c.env).toEqual({
      REMOTESERVER_HOST: 'collector.local',
      REMOTESERVER_PORT: '22',
      REMOTESERVER_USER: 'allsky',
      REMOTESERVER_PASSWORD: 'n/a',
      REMOTESERVER_LFTP_COMMANDS: SET,
    });
  });

  it('keeps an existing non-empty password', () => {
    const env = fixture('env.json').replace('"REMOTESERVER_PASSWORD" : ""', '"REMOTESERVER_PASSWORD" : "hunter2"');
    expect(currentGenerationChanges(OPTS, env).env.REMOTESERVER_PASSWORD).toBe('hunter2');
    expect(currentGenerationChanges(OPTS).env.REMOTESERVER_PASSWORD).toBe('n/a');
  });

  it.each([
    { host: 'a b' },
    { port: 0 },
    { port: '70000' },
    { user: '' },
    { imageDir: 'my images' },
    { imageDir: "it's" },
    { lftpCommands: 'a\nb' },
  ])('rejects bad input %j', (bad) => {
    expect(() => currentGenerationChanges({ ...OPTS, ...bad })).toThrow(UsageError);
  });

  it('updates settings.json and env.json, touching only those lines, idempotently', () => {
    const settings = fixture('settings.json');
    const env = fixture('env.json');
    const c = currentGenerationChanges(OPTS, env);
    const s = updateJsonObject(settings, c.settings, 'config/settings.json');
    const e = updateJsonObject(env, c.env, 'env.json');
    expect(s.changed && e.changed).toBe(true);
    const changedLines = (a: string, b: string) => {
      const al = a.split('\n');
      return b.split('\n').filter((l, i) => l !== al[i]);
    };
    expect(changedLines(settings, s.text)).toEqual([
      '    "useremoteserver": true,',
      '    "remoteserverprotocol": "sftp",',
      '    "remoteserverimagedir": "images",',
      '    "remoteservervideodestinationname": "allsky.mp4",',
      '    "remoteserverkeogramdestinationname": "keogram.jpg",',
      '    "remoteserverstartrailsdestinationname": "startrails.jpg",',
    ]);
    expect(s.text).toContain('"daygain": 1.0,');
    expect(s.text).toContain('"config": "\\/home\\/pi\\/allsky\\/config\\/overlay.json"');
    expect(e.text).toContain(`\t"REMOTESERVER_LFTP_COMMANDS" : ${JSON.stringify(SET)},\n`);
    expect(e.text).toContain('\t"REMOTESERVER_PORT" : "22",\n');
    expect(updateJsonObject(s.text, c.settings, 'f').changed).toBe(false);
    expect(updateJsonObject(e.text, currentGenerationChanges(OPTS, e.text).env, 'f').changed).toBe(false);

    const view = readCurrentRemote(s.text, e.text);
    expect(view).toEqual({
      enabled: true,
      protocol: 'sftp',
      host: 'collector.local',
      port: '22',
      user: 'allsky',
      passwordSet: true,
      lftpCommands: SET,
      connectProgram: SET.slice('set sftp:connect-program "'.length, -1),
      keyPath: '/home/pi/.ssh/allsky_ed25519',
      imageDir: 'images',
      uploads: { imageFrequency: 1, image: true, timelapse: true, timelapseThumbnail: true, keogram: true, startrails: false },
    });
  });

  it('readCurrentRemote on untouched fixtures and broken files', () => {
    const v = readCurrentRemote(fixture('settings.json'), fixture('env.json'));
    expect(v.enabled).toBe(false);
    expect(v.protocol).toBe('ftps');
    expect(v.passwordSet).toBe(false);
    expect(v.connectProgram).toBeUndefined();
    expect(() => readCurrentRemote('{', '{}')).toThrow(/settings\.json/);
    expect(() => readCurrentRemote('{}', '[]')).toThrow(/env\.json/);
  });
});
