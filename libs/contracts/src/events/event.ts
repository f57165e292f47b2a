/**
 * One event as the log holds it, at its type's current schema version: an
 * explicit type name and its data (emmett's `Event<Type, Data>`). Each event
 * type, its schema version and its data shape sit side by side in their
 * `<name>.v<n>.ts`; readers get older versions upcast.
 */
export type Event<Type extends string, Data extends Record<string, unknown>> = {
  type: Type;
  data: Data;
};
