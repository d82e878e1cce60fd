import { escapeText } from '@trainyard/contracts';

/**
 * Secrets never reach a log line or an error body: URLs lose their password (`redis://:pw@h` →
 * `redis://:***@h`), and the values of secret settings are replaced wherever they appear.
 */
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/@:]*):([^\s/@]*)@/gi;
/** `Authorization: Bearer …`, `X-Amz-Signature=…`, `key=…`-style secrets in free text. */
const INLINE_SECRETS =
  /\b(bearer\s+|x-amz-(?:signature|credential|security-token)=|(?:access_?key|secret_?key|password|api_?key|token)[=:]\s*)([^\s&"',;]+)/gi;

const known = new Set<string>();

/** Registers a secret value (an S3 secret, the admin key) so `redact` removes it anywhere. */
export function registerSecret(value: string | undefined): void {
  if (value && value.length >= 6) known.add(value);
}

export function redact(text: string): string {
  let out = text.replace(URL_CREDENTIALS, (_m, scheme: string, user: string) => `${scheme}${user}:***@`);
  out = out.replace(INLINE_SECRETS, (_m, label: string) => `${label}***`);
  for (const secret of known) if (out.includes(secret)) out = out.split(secret).join('***');
  return out;
}

/**
 * Control characters (newlines included) and the bidirectional embeddings, overrides and isolates
 * shown escaped, so a name can neither forge a log line nor reorder one: the contracts' escapeText.
 */
export function escapeControlCharacters(text: string): string {
  return escapeText(text);
}
