import type { INestApplication } from '@nestjs/common';
import fc from 'fast-check';

/** A route as the app registered it: `GET /v1/runs/:id` has params ['id']. */
export interface HttpRoute {
  method: string;
  path: string;
  params: string[];
}

interface ExpressLayer {
  route?: { path: unknown; methods: Record<string, boolean> };
}

/**
 * Every route of the running app, read from its Express router, so a test over "all routes"
 * covers a route added tomorrow without being edited.
 */
export function enumerateRoutes(app: INestApplication): HttpRoute[] {
  const express = app.getHttpAdapter().getInstance() as {
    router?: { stack: ExpressLayer[] };
    _router?: { stack: ExpressLayer[] };
  };
  const stack = (express.router ?? express._router)?.stack ?? [];
  const routes = new Map<string, HttpRoute>();
  for (const layer of stack) {
    if (!layer.route || typeof layer.route.path !== 'string') continue;
    const path = layer.route.path;
    for (const method of Object.keys(layer.route.methods).filter((m) => m !== '_all')) {
      const route = { method: method.toUpperCase(), path, params: [...path.matchAll(/:(\w+)/g)].map((m) => m[1]!) };
      routes.set(`${route.method} ${path}`, route);
    }
  }
  if (routes.size === 0) throw new Error('No routes found on the Express router: has the adapter changed?');
  return [...routes.values()];
}

/** The route's path with each `:param` replaced by a percent-encoded value. */
export function fillPath(route: HttpRoute, values: string[]): string {
  let i = 0;
  return route.path.replace(/:(\w+)/g, () => encodeAny(values[i++] ?? 'x'));
}

/**
 * encodeURIComponent for any JavaScript string: a lone surrogate (which encodeURIComponent
 * refuses) goes out as the three bytes UTF-8 would give it, which no decoder accepts: the
 * server must cope with a query or path that is not valid UTF-8.
 */
export function encodeAny(text: string): string {
  let out = '';
  for (const ch of text) {
    const code = ch.charCodeAt(0);
    if (ch.length === 1 && code >= 0xd800 && code <= 0xdfff) {
      out += [0xe0 | (code >> 12), 0x80 | ((code >> 6) & 0x3f), 0x80 | (code & 0x3f)]
        .map((b) => `%${b.toString(16).toUpperCase()}`)
        .join('');
    } else out += encodeURIComponent(ch);
  }
  return out;
}

const HOSTILE_CONSTANTS = [
  '__proto__',
  'constructor',
  'prototype',
  '\u0000',
  'a\u0000b',
  'a\nb',
  'a\r\nInjected: header',
  '\u001b[31m',
  '\u0085',
  '\u2028',
  '\ud800',
  'x\udfff',
  '1e309',
  '-1e309',
  'NaN',
  '-0',
  'Infinity',
  '',
  ' ',
  '..',
  '../../etc/passwd',
  '%',
  '%00',
  'null',
  'true',
  '{}',
  '[]',
  'spec.__proto__.x',
  'Ѕ𝕏🌸',
  'x'.repeat(3000),
];

/** Strings that have broken parsers: any code point, lone surrogates, controls, prototype keys, odd numbers. */
export function hostileString(): fc.Arbitrary<string> {
  return fc.oneof(
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 20 }),
    fc.constantFrom(...HOSTILE_CONSTANTS),
  );
}

const QUERY_KEYS = [
  'q',
  'limit',
  'cursor',
  'sort',
  'order',
  'status',
  'kind',
  'names',
  'name',
  'maxPoints',
  'ids',
  'file',
  'spec.training.seed',
  'spec.__proto__.polluted',
  'spec.constructor.prototype.polluted',
  '__proto__',
  'constructor',
  '__proto__[polluted]',
  'constructor[prototype][polluted]',
  'a[b][c][d][e][f][g][h]',
];

const RAW_QUERIES = [
  '?%',
  '?a=%ZZ',
  '?q=%00',
  '?q=%C0%80',
  '?limit=1&limit=2',
  '?spec.__proto__.x=1',
  '?__proto__[polluted]=1',
  '?constructor[prototype][polluted]=1',
  `?cursor=${'A'.repeat(3000)}`,
  `?${'a=1&'.repeat(1500)}`,
];

/** `''` or `?…`: parameters the routes know and do not, repeated, hostile, or not even valid percent-encoding. */
export function queryString(): fc.Arbitrary<string> {
  const key = fc.oneof(fc.constantFrom(...QUERY_KEYS), hostileString());
  return fc.oneof(
    fc.constant(''),
    fc
      .array(fc.tuple(key, hostileString()), { minLength: 1, maxLength: 6 })
      .map((pairs) => `?${pairs.map(([k, v]) => `${encodeAny(k)}=${encodeAny(v)}`).join('&')}`),
    fc.constantFrom(...RAW_QUERIES),
  );
}
