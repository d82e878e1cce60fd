/** DI token for the options createApiApp was given (the config itself is @trainyard/infrastructure's CONFIG). */
export const API_OPTIONS = Symbol('API_OPTIONS');
