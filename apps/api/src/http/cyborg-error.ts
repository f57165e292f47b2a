/**
 * Cyborg's error body: `{"error_message": "<WSME fault as JSON text>"}`.
 * openstacksdk decodes the inner JSON and shows `faultstring`; Nova and
 * tempest look only at the status.
 */
export function cyborgErrorBody(status: number, message: string): { error_message: string } {
  return {
    error_message: JSON.stringify({
      faultcode: status >= 500 ? 'Server' : 'Client',
      faultstring: message,
      debuginfo: null,
    }),
  };
}

/**
 * Cyborg's 423 for `bind_state=resolved` while an instance's ARQs are still
 * binding: its handler returns no fault, so the body is `{"error_message": "null"}`.
 */
export class UnresolvedArqsError extends Error {
  readonly status = 423;
  constructor() {
    super('null');
    this.name = 'UnresolvedArqsError';
  }
}
