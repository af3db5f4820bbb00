import { describe, expect, it } from 'vitest';
import { unifiedDiff } from '../../src/plan/diff.js';

describe('unifiedDiff', () => {
  it('is empty for equal texts', () => {
    expect(unifiedDiff('a\nb\n', 'a\nb\n', 'f')).toBe('');
  });
  it('shows an appended block with context', () => {
    const d = unifiedDiff('a\nb\nc\nd\ne\n', 'a\nb\nc\nd\ne\nMatch User x\n', '/etc/ssh/sshd_config');
    expect(d).toBe(
      ['--- /etc/ssh/sshd_config', '+++ /etc/ssh/sshd_config (new)', '@@ -3,3 +3,4 @@', ' c', ' d', ' e', '+Match User x', ''].join('\n'),
    );
  });
  it('shows a new file as all additions', () => {
    expect(unifiedDiff('', 'x\ny\n', 'k')).toContain('@@ -0,0 +1,2 @@\n+x\n+y\n');
  });
  it('splits distant changes into two hunks', () => {
    const before = Array.from({ length: 20 }, (_, i) => `l${i}`).join('\n') + '\n';
    const after = before.replace('l1\n', 'L1\n').replace('l18\n', 'L18\n');
    const d = unifiedDiff(before, after, 'f');
    expect(d.match(/^@@/gm)).toHaveLength(2);
    expect(d).toContain('-l1\n+L1\n');
    expect(d).toContain('-l18\n+L18\n');
  });
  it('notes a missing final newline', () => {
    expect(unifiedDiff('a', 'a\nb', 'f')).toContain('No newline at end of new file');
  });
});
