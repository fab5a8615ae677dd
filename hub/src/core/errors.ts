/**
 * One error shape for everything a user can see:
 * `{"error": {"code": "...", "message": "...", "field": "..."}}`.
 * Messages name what happened and, where possible, what to do next.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  toJSON(): { error: { code: string; message: string; field?: string } } {
    return {
      error: { code: this.code, message: this.message, ...(this.field ? { field: this.field } : {}) },
    };
  }
}

export const badRequest = (message: string, field?: string, code = 'invalid_request') =>
  new ApiError(400, code, message, field);
export const unauthorized = (message = 'Sign in first: this needs an authenticated session or an API token.') =>
  new ApiError(401, 'unauthenticated', message);
export const forbidden = (message: string) => new ApiError(403, 'forbidden', message);
export const notFound = (message: string) => new ApiError(404, 'not_found', message);
export const conflict = (message: string, code = 'conflict', field?: string) =>
  new ApiError(409, code, message, field);
