import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { allskyPaths, classifyAllsky, generationFromVersion, remoteDirs } from '../../src/allsky/detect.js';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/allsky/${name}`, import.meta.url), 'utf8');
const none = { settingsJson: false, envJson: false, ftpSettings: false, scriptsFtpSettings: false };

describe('classifyAllsky', () => {
  it('current: settings.json + env.json', () => {
    expect(classifyAllsky({ ...none, settingsJson: true, envJson: true }, fixture('version'))).toEqual({
      generation: 'current',
      version: 'v2024.12.06_02',
    });
  });

  it('legacy: ftp-settings.sh, even with a (camera) settings.json', () => {
    expect(classifyAllsky({ ...none, settingsJson: true, ftpSettings: true }, fixture('version-legacy'))).toEqual({
      generation: 'legacy',
      version: 'v2023.05.01_04',
    });
  });

  it('ancient, none, and version as tie-breaker with missing files', () => {
    expect(classifyAllsky({ ...none, scriptsFtpSettings: true })).toEqual({ generation: 'ancient' });
    expect(classifyAllsky(none)).toEqual({ generation: 'none' });
    expect(classifyAllsky(none, '\n')).toEqual({ generation: 'none' });
    expect(classifyAllsky({ ...none, settingsJson: true }, 'v2023.05.01\n')).toEqual({
      generation: 'legacy',
      version: 'v2023.05.01',
      missing: ['config/ftp-settings.sh'],
    });
    expect(classifyAllsky({ ...none, settingsJson: true })).toEqual({ generation: 'current', missing: ['env.json'] });
    expect(classifyAllsky({ ...none, envJson: true })).toEqual({ generation: 'current', missing: ['config/settings.json'] });
  });

  it.each([
    ['v2024.12.06_01', 'current'],
    ['v2025.03.10', 'current'],
    ['v2023.05.01_04', 'legacy'],
    ['v2022.03.01', 'legacy'],
    ['v0.8.3', 'legacy'],
    ['v0.8', 'ancient'],
    ['0.7', 'ancient'],
    ['garbage', undefined],
  ])('version %s → %s', (v, g) => {
    expect(generationFromVersion(v)).toBe(g);
  });
});

describe('allskyPaths', () => {
  it('gives absolute paths in the Allsky home', () => {
    expect(allskyPaths('/home/pi/allsky/')).toEqual({
      home: '/home/pi/allsky',
      settingsJson: '/home/pi/allsky/config/settings.json',
      envJson: '/home/pi/allsky/env.json',
      ftpSettings: '/home/pi/allsky/config/ftp-settings.sh',
      configSh: '/home/pi/allsky/config/config.sh',
      scriptsFtpSettings: '/home/pi/allsky/scripts/ftp-settings.sh',
      version: '/home/pi/allsky/version',
    });
  });
});

describe('remoteDirs', () => {
  it('current generation: fixed subdirectories of the image dir', () => {
    expect(remoteDirs('images/', 'current')).toEqual([
      'images',
      'images/keograms',
      'images/startrails',
      'images/videos',
      'images/videos/thumbnails',
    ]);
    expect(remoteDirs('', 'current')).toEqual(['keograms', 'startrails', 'videos', 'videos/thumbnails']);
  });

  it('legacy: separate top-level directories', () => {
    expect(remoteDirs('images', 'legacy')).toEqual(['images', 'videos', 'keograms', 'startrails']);
    expect(remoteDirs('/srv/cam/images', 'legacy')).toEqual(['/srv/cam/images', '/srv/cam/videos', '/srv/cam/keograms', '/srv/cam/startrails']);
    expect(remoteDirs('images', 'none')).toEqual([]);
  });
});
