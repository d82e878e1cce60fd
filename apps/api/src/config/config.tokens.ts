/** DI tokens for what createApiApp hands to the Nest container; symbols so nothing collides by name. */
export const TRAINYARD_CONFIG = Symbol('TRAINYARD_CONFIG');
export const API_OPTIONS = Symbol('API_OPTIONS');
