import { describe, expect, it } from 'vitest';
import { setEnvVars } from '../../src/collector/dotenv.js';

const VARS = { ALLSKY_IMAGE_PATH: '/var/lib/allsky-uploads/images/image.jpg', ALLSKY_IMAGE_URL: '' };

describe('setEnvVars (the collector application .env)', () => {
  it('appends missing variables and keeps every other line byte for byte', () => {
    const before = '# collector app\nPORT=8080\nTITLE="My sky"\n';
    expect(setEnvVars(before, VARS)).toBe(`${before}ALLSKY_IMAGE_PATH=/var/lib/allsky-uploads/images/image.jpg\nALLSKY_IMAGE_URL=\n`);
  });

  it('replaces existing values in place, keeping an export prefix', () => {
    const before = 'A=1\nexport ALLSKY_IMAGE_PATH=/old/image.jpg\nALLSKY_IMAGE_URL=http://example.invalid/x.jpg\nB=2\n';
    expect(setEnvVars(before, VARS)).toBe(
      'A=1\nexport ALLSKY_IMAGE_PATH=/var/lib/allsky-uploads/images/image.jpg\nALLSKY_IMAGE_URL=\nB=2\n',
    );
  });

  it('is idempotent, also when the value is already quoted', () => {
    const once = setEnvVars('X=1\n', VARS);
    expect(setEnvVars(once, VARS)).toBe(once);
    const quoted = 'ALLSKY_IMAGE_PATH="/var/lib/allsky-uploads/images/image.jpg"\nALLSKY_IMAGE_URL=""\n';
    expect(setEnvVars(quoted, VARS)).toBe(quoted);
  });

  it('keeps CRLF line ends and adds a missing final newline before appending', () => {
    expect(setEnvVars('A=1\r\nB=2', { C: 'x' })).toBe('A=1\r\nB=2\r\nC=x\r\n');
  });

  it('quotes values that the shell would split', () => {
    expect(setEnvVars('', { P: '/srv/my uploads/image.jpg' })).toBe('P="/srv/my uploads/image.jpg"\n');
  });
});
