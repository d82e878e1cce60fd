import { escapeControlCharacters, redact, registerSecret } from './redact';

describe('redact', () => {
  it('hides URL passwords, bearer tokens and inline secrets, keeping what helps', () => {
    expect(redact('connect postgresql://postgres:pw123@db:5432/x failed')).toBe(
      'connect postgresql://postgres:***@db:5432/x failed',
    );
    expect(redact('redis://:s3cret@cache:6379')).toBe('redis://:***@cache:6379');
    expect(redact('Authorization: Bearer ty_abcdef')).toBe('Authorization: Bearer ***');
    expect(redact('GET /x?X-Amz-Signature=deadbeef&a=1')).toBe('GET /x?X-Amz-Signature=***&a=1');
    expect(redact('no secret here: http://host/path')).toBe('no secret here: http://host/path');
  });

  it('removes registered secret values wherever they appear', () => {
    registerSecret('the-s3-secret-value');
    expect(redact('signing with the-s3-secret-value now')).toBe('signing with *** now');
  });
});

describe('escapeControlCharacters', () => {
  it('keeps a name from forging a log line', () => {
    expect(escapeControlCharacters('run "x"\n[Nest] 1 - LOG fake line\u0000')).toBe(
      'run "x"\\n[Nest] 1 - LOG fake line\\u0000',
    );
  });

  it('keeps a name from reordering a line: bidirectional overrides and isolates, not the marks scripts need', () => {
    expect(escapeControlCharacters('cat\u202egpj.exe \u2066x\u2069 \u061c\u200b')).toBe(
      'cat\\u202egpj.exe \\u2066x\\u2069 \u061c\u200b',
    );
  });
});
