// The name of the hidden form field that repeats the CSRF token (pages render it; csrf.server.ts checks it).
export const CSRF_FIELD = "csrf";
