/**
 * What to say about bytes that are not JSON. V8's SyntaxError quotes the start of the text
 * (`Unexpected token 'r', "root:x:0:0:"... is not valid JSON`), and a file read on a user's behalf
 * may be anyone's: keep only where parsing stopped, never what was there.
 */
export function notValidJson(error: unknown): string {
  const message = error instanceof Error ? error.message : '';
  const position = /\bat position (\d+)/.exec(message)?.[1];
  if (position !== undefined) return `not valid JSON (syntax error at character ${position})`;
  if (/end of JSON input/.test(message)) return 'not valid JSON (it ends too early)';
  return 'not valid JSON';
}
