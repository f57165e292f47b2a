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
